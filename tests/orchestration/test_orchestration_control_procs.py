"""Task control across processes on a real Redis: cancel from anywhere, delayed tasks, team pause."""

from __future__ import annotations

import asyncio
import random
import time

from agentstate_redis import InvalidTransitionError, RedisBackend

from ..procs import join_processes, killed_at_end, start_process
from ..workers_orchestration import control_worker
from .fleet import fleet_team, workers_up

TEAM = "control_fleet"


def start_workers(
    redis_url: str, prefix: str, records: str, n: int, *, sync_interval: float = 0.1, idle_exit: float = 0.5
) -> list:
    return [
        start_process(control_worker, redis_url, prefix, TEAM, f"w{i}", records, sync_interval, idle_exit)
        for i in range(n)
    ]


async def records(backend: RedisBackend, key: str) -> list[list[str]]:
    return [
        r.decode().split("|") if isinstance(r, bytes) else r.split("|") for r in await backend.client.lrange(key, 0, -1)
    ]


async def test_a_cancel_from_another_process_stops_the_holder_within_a_heartbeat(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    orch = await fleet_team(redis_backend, TEAM)
    interval = 0.25
    await orch.enqueue_task(TEAM, {"id": "long", "data": {"ms": 60_000}})
    with killed_at_end(start_workers(redis_url, prefix, prefix + "rec", 1, sync_interval=interval)) as procs:
        for _ in range(400):
            if (await orch.get_queue_status(TEAM, page_size=0)).in_progress_count:
                break
            await asyncio.sleep(0.025)
        cancelled_at = time.time()
        await orch.cancel_task(TEAM, "long", reason="from the parent")
        await join_processes(procs, timeout=30)
    [[task_id, seen, refused]] = await records(redis_backend, prefix + "rec:cancelled")
    assert task_id == "long" and refused == "1"
    # the holder's next heartbeat comes at most one interval later (plus scheduling on a busy machine)
    assert float(seen) - cancelled_at < interval + 1.0
    assert await records(redis_backend, prefix + "rec") == []
    task = await orch.get_task(TEAM, "long")
    assert task.status == "cancelled" and task.cancel_reason == "from the parent"


async def test_random_cancels_over_1000_tasks_end_each_task_exactly_once(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    orch = await fleet_team(redis_backend, TEAM, completed_retention=10_000)
    rng = random.Random(21)
    ids = [f"t{i}" for i in range(1000)]
    await orch.enqueue_tasks(TEAM, [{"id": i, "data": {"ms": rng.choice([1, 2, 5, 40])}} for i in ids])
    cancelled: set[str] = set()
    running = 0
    with killed_at_end(start_workers(redis_url, prefix, prefix + "rec", 4, sync_interval=0.02)) as procs:
        await workers_up(orch, TEAM, 4)
        for task_id in rng.sample(ids, 300):
            if rng.random() < 0.3:  # also aim at tasks a worker holds right now
                held = await orch.list_tasks(TEAM, "in_progress", limit=4)
                task_id = held[0].id if held else task_id
            if task_id in cancelled:
                continue
            try:
                running += (await orch.cancel_task(TEAM, task_id)).agent_id is not None
                cancelled.add(task_id)
            except InvalidTransitionError:
                pass  # finished first: completed, not cancelled
            await asyncio.sleep(rng.uniform(0, 0.01))
        await join_processes(procs)
    completed = [r[0] for r in await records(redis_backend, prefix + "rec")]
    assert len(completed) == len(set(completed))  # no completion accepted twice
    assert set(completed) | cancelled == set(ids) and not set(completed) & cancelled
    status = await orch.get_queue_status(TEAM, page_size=0)
    assert status.completed_total == len(completed) and status.cancelled_total == len(cancelled)
    listed = {t.id for t in await orch.list_tasks(TEAM, "cancelled", limit=1000)}
    assert listed == cancelled and running > 0  # some were cancelled while a worker ran them
    late = await records(
        redis_backend, prefix + "rec:cancelled"
    )  # holders told by heartbeat: their late result refused
    assert all(refused == "1" for _, _, refused in late) and {r[0] for r in late} <= cancelled


async def test_delayed_tasks_are_never_claimed_early_and_promptly_after(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    orch = await fleet_team(redis_backend, TEAM)
    await orch.enqueue_task(TEAM, {"id": "gate"}, delay=3600)  # keeps the workers waiting, not exiting
    with killed_at_end(start_workers(redis_url, prefix, prefix + "rec", 4, idle_exit=1.0)) as procs:
        await workers_up(orch, TEAM, 4)
        sec, usec = await redis_backend.client.time()
        now = sec + usec / 1e6
        for k in range(5):
            await orch.enqueue_tasks(
                TEAM, [{"id": f"d{k}-{i}", "data": {"ms": 1}} for i in range(10)], run_at=now + 0.5 + 0.3 * k
            )
        run_at = {t.id: t.next_run_at for t in await orch.list_tasks(TEAM, "delayed", limit=100) if t.id != "gate"}
        assert len(run_at) == 50
        for _ in range(400):
            if (await orch.get_queue_status(TEAM, page_size=0)).completed_total == 50:
                break
            await asyncio.sleep(0.05)
        await orch.cancel_task(TEAM, "gate")
        await join_processes(procs)
    claims = {task_id: float(started) for task_id, started in await records(redis_backend, prefix + "rec:claims")}
    assert set(claims) == set(run_at)
    for task_id, started in claims.items():
        assert started >= run_at[task_id], task_id  # server clock, never before
    lags = sorted(claims[t] - run_at[t] for t in claims)
    assert lags[len(lags) // 2] < 0.5 and lags[-1] < 2.0, lags  # promptly after (4 workers, busy box)


async def test_a_paused_team_gets_no_claims_until_resumed(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    orch = await fleet_team(redis_backend, TEAM)
    await orch.enqueue_tasks(TEAM, [{"id": f"t{i}", "data": {"ms": 1}} for i in range(200)])
    await orch.pause_team(TEAM)
    claims: list[str] = []
    await orch.subscribe_events(TEAM, lambda e: claims.append(e.data["task"]) if e.op == "claim" else None)
    with killed_at_end(start_workers(redis_url, prefix, prefix + "rec", 4, idle_exit=0.5)) as procs:
        await asyncio.sleep(2.0)
        status = await orch.get_queue_status(TEAM, page_size=0)
        assert status.pending_count == 200 and status.in_progress_count == 0 and status.completed_total == 0
        assert claims == [] and all(p.is_alive() for p in procs)
        resumed = time.monotonic()
        await orch.resume_team(TEAM)
        await join_processes(procs)
        drained = time.monotonic() - resumed
    assert (await orch.get_queue_status(TEAM, page_size=0)).completed_total == 200
    assert len(await records(redis_backend, prefix + "rec")) == 200
    assert drained < 30

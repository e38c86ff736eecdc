"""Team limits across processes on a real Redis: concurrency and claims per second hold for a fleet."""

from __future__ import annotations

import asyncio

from agentstate_redis import RedisBackend

from ..procs import join_processes, killed_at_end, start_process
from ..workers_orchestration import limits_worker
from .fleet import fleet_team, workers_up

TEAM = "limits_fleet"


def start_workers(redis_url: str, prefix: str, n: int, idle_exit: float = 0.5) -> list:
    return [start_process(limits_worker, redis_url, prefix, TEAM, f"w{i}", prefix + "rec", idle_exit) for i in range(n)]


async def starts(backend: RedisBackend) -> list[tuple[str, int, str]]:
    rows = [
        (r.decode() if isinstance(r, bytes) else r).split("|")
        for r in await backend.client.lrange(backend.keys.prefix + "rec", 0, -1)
    ]
    return [(task_id, int(ms), how) for task_id, ms, how in rows]


def busiest_second(ms: list[int]) -> int:
    """The most claims in any window of 1000 ms (server clock)."""
    ms = sorted(ms)
    best, lo = 0, 0
    for hi, t in enumerate(ms):
        while ms[lo] <= t - 1000:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def test_max_in_progress_holds_for_8_worker_processes(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    orch = await fleet_team(redis_backend, TEAM, completed_retention=10_000)
    await orch.set_team_limits(TEAM, max_in_progress=3)
    await orch.pause_team(TEAM)  # every worker up before the first claim
    await orch.enqueue_tasks(TEAM, [{"id": f"t{i}", "data": {"ms": 5}} for i in range(300)])
    running = orch.keys.team(TEAM).base + ":running"
    seen: list[int] = []
    with killed_at_end(start_workers(redis_url, prefix, 8)) as procs:
        await workers_up(orch, TEAM, 8, timeout=60)
        await orch.resume_team(TEAM)
        while any(p.is_alive() for p in procs):
            seen.append(await redis_backend.client.zcard(running))  # the server-side sampler
        await join_processes(procs)
    rows = await starts(redis_backend)
    assert sorted(r[0] for r in rows) == sorted(f"t{i}" for i in range(300))  # each ran once
    assert max(seen) == 3 and len(seen) > 100, (max(seen), len(seen))
    assert any(how == "next" for _, _, how in rows)  # complete_and_claim took part, held to 3 too
    assert (await orch.get_queue_status(TEAM, page_size=0)).completed_total == 300


async def test_max_per_second_holds_in_every_second_of_claims(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    orch = await fleet_team(redis_backend, TEAM, completed_retention=10_000)
    await orch.set_team_limits(TEAM, max_per_second=20)
    await orch.enqueue_tasks(TEAM, [{"id": f"t{i}", "data": {"ms": 1}} for i in range(70)])
    with killed_at_end(start_workers(redis_url, prefix, 8)) as procs:
        await join_processes(procs)
    rows = await starts(redis_backend)
    assert len(rows) == 70 and len({r[0] for r in rows}) == 70
    assert busiest_second([ms for _, ms, _ in rows]) == 20  # reached, never passed
    spread = (max(ms for _, ms, _ in rows) - min(ms for _, ms, _ in rows)) / 1000
    assert spread >= 3.0, spread  # 70 claims at 20/s need > 3 s


async def test_clearing_the_limits_restores_full_speed(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    orch = await fleet_team(redis_backend, TEAM, completed_retention=10_000)
    await orch.set_team_limits(TEAM, max_per_second=2)
    await orch.pause_team(TEAM)
    await orch.enqueue_tasks(TEAM, [{"id": f"t{i}", "data": {"ms": 1}} for i in range(200)])
    with killed_at_end(start_workers(redis_url, prefix, 4)) as procs:
        await workers_up(orch, TEAM, 4, timeout=60)
        await orch.resume_team(TEAM)
        await asyncio.sleep(1.5)
        limited = len(await starts(redis_backend))
        sec, usec = await redis_backend.client.time()
        await orch.set_team_limits(TEAM)  # cleared: blocked claimers wake
        cleared_ms = sec * 1000 + usec // 1000
        await join_processes(procs)
    rows = await starts(redis_backend)
    assert limited <= 6 and len(rows) == 200
    after = [ms for _, ms, _ in rows if ms >= cleared_ms]
    assert busiest_second(after) > 20, busiest_second(after)  # far above the old 2 per second
    assert await orch.get_team_limits(TEAM) == []

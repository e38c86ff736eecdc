"""run_worker in-process: complete, fail, graceful stop within the grace period, release after it."""

from __future__ import annotations

import asyncio
from typing import Any

from agentstate_redis import OrchestrationStateManager
from agentstate_redis.worker import Worker, WorkerSettings, run_worker

TEAM = "worker_team"


async def test_completes_and_fails_with_the_fencing_token(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": "ok1"}, {"id": "bad"}, {"id": "ok2"}])

    async def handle(task: Any) -> Any:
        if task.id == "bad":
            raise RuntimeError("tool down")
        return {"done": task.id, "token": task.token}

    stats = await run_worker(
        orch, TEAM, "w1", handle, max_tasks=3, claim_wait=0.5, retry_failures=False, install_signals=False
    )
    assert (stats.claimed, stats.completed, stats.failed, stats.released, stats.lost) == (3, 2, 1, 0, 0)
    ok = await orch.get_task(TEAM, "ok1")
    assert ok.status == "completed" and ok.result["done"] == "ok1" and ok.completed_by == "w1"
    bad = await orch.get_task(TEAM, "bad")
    assert bad.status == "dead" and "RuntimeError: tool down" in bad.errors[0]
    assert (await orch.get_team(TEAM)).agents["w1"].status == "offline"


async def test_stop_lets_the_task_in_hand_finish_and_claims_nothing_more(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": "t1"}, {"id": "t2"}])
    stop = asyncio.Event()
    started = asyncio.Event()

    async def handle(task: Any) -> Any:
        started.set()
        await asyncio.sleep(0.5)  # still running when the stop comes
        return "finished"

    runner = asyncio.ensure_future(
        run_worker(orch, TEAM, "w1", handle, stop=stop, grace=5, claim_wait=0.3, install_signals=False)
    )
    await asyncio.wait_for(started.wait(), 5)
    stop.set()
    stats = await asyncio.wait_for(runner, 5)
    assert (stats.claimed, stats.completed, stats.released) == (1, 1, 0)
    queue = await orch.get_queue_status(TEAM)
    assert queue.completed_total == 1 and [t.id for t in queue.pending] == ["t2"]
    assert queue.in_progress_count == 0


async def test_a_task_outliving_the_grace_period_is_released(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": "slow", "priority": "high"}, {"id": "next"}])
    stop = asyncio.Event()
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def handle(task: Any) -> Any:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    runner = asyncio.ensure_future(
        run_worker(orch, TEAM, "w1", handle, stop=stop, grace=0.3, claim_wait=0.3, install_signals=False)
    )
    await asyncio.wait_for(started.wait(), 5)
    claimed = await orch.get_task(TEAM, "slow")
    stop.set()
    stats = await asyncio.wait_for(runner, 5)
    assert cancelled.is_set()
    assert (stats.claimed, stats.completed, stats.released, stats.lost) == (1, 0, 1, 0)
    slow = await orch.get_task(TEAM, "slow")
    assert slow.status == "pending" and slow.failures == 0 and slow.stalls == 0
    queue = await orch.get_queue_status(TEAM)
    assert [t.id for t in queue.pending] == ["slow", "next"]  # back at the head of the line

    again = await orch.claim_task(TEAM, "w2", lease=5)  # the next worker takes it at once
    assert again is not None and again.id == "slow" and again.token > (claimed.token or 0)


async def test_stop_before_any_claim_returns_at_once(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "t1"})
    stop = asyncio.Event()
    stop.set()

    async def handle(task: Any) -> Any:
        raise AssertionError("nothing may be claimed after the stop")

    stats = await asyncio.wait_for(run_worker(orch, TEAM, "w1", handle, stop=stop, install_signals=False), 5)
    assert stats.claimed == 0
    assert (await orch.get_task(TEAM, "t1")).status == "pending"


async def test_heartbeats_keep_a_long_task_past_its_lease(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "long"})

    async def handle(task: Any) -> Any:
        await asyncio.sleep(1.5)  # three times the lease; keep_alive renews it
        return "ok"

    stats = await run_worker(orch, TEAM, "w1", handle, lease=0.5, max_tasks=1, install_signals=False)
    assert (stats.completed, stats.lost) == (1, 0)
    task = await orch.get_task(TEAM, "long")
    assert task.status == "completed" and task.stalls == 0


async def test_a_worker_tells_its_hooks_each_outcome_and_each_idle_claim(orch: OrchestrationStateManager) -> None:
    """Worker + WorkerSettings: the loop run_worker runs, with the hooks the demo's workers use."""
    await orch.enqueue_tasks(TEAM, [{"id": "ok1"}, {"id": "bad"}, {"id": "ok2"}])
    heard: list[tuple[str, str, str | None]] = []
    stop = asyncio.Event()

    async def handle(task: Any) -> Any:
        if task.id == "bad":
            raise RuntimeError("tool down")
        return task.id

    async def on_outcome(task: Any, outcome: str, stored: Any) -> None:
        heard.append((task.id, outcome, None if stored is None else stored.status))

    async def on_idle() -> None:
        heard.append(("-", "idle", None))
        stop.set()

    settings = WorkerSettings(claim_wait=0.2, retry_failures=False, install_signals=False, schedules=False)
    worker = Worker(orch, TEAM, "w1", handle, settings, on_outcome=on_outcome, on_idle=on_idle)
    stats = await worker.run(stop)
    # ok1's completion claimed bad (complete_and_claim: no stored task), bad is a dead letter, ok2's
    # completion found nothing to claim, then the idle claim stopped the worker
    assert heard == [
        ("ok1", "completed", None),
        ("bad", "failed", "dead"),
        ("ok2", "completed", None),
        ("-", "idle", None),
    ]
    assert (stats.claimed, stats.completed, stats.failed) == (3, 2, 1)
    assert worker.stats is stats

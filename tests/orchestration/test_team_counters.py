"""get_team_counters: the team's totals (completed, dead, claims, failures, stalls) and the wake-up
histogram, counted by the queue's scripts."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from agentstate_redis import OrchestrationStateManager
from agentstate_redis.backends.base import Backend
from agentstate_redis.errors import InvalidInputError, LeaseError, NotFoundError
from agentstate_redis.orchestration import Backoff, ClaimedTask
from agentstate_redis.orchestration.counters import WAKEUP_BUCKETS_MS, TeamCounters

from ..procs import run_processes
from ..queue_left import nothing_left

NO_WAIT = Backoff(kind="fixed", delay=0, jitter=0)


def waits(counters: TeamCounters) -> float:
    return counters.wakeup.sum_seconds


async def test_totals_count_every_completion_and_dead_letter_and_outlive_retention(backend: Backend) -> None:
    """Totals keep growing after retention deleted the completed and dead tasks themselves."""
    orch = OrchestrationStateManager(backend=backend, completed_retention=2, dead_retention=1)
    await orch.create_team("t")
    zero = (await orch.get_team_counters("t")).model_dump()
    assert zero == {
        "team_id": "t",
        "completed_total": 0,
        "dead_total": 0,
        "claims_total": 0,
        "failures_total": 0,
        "stalls_total": 0,
        "wakeup": {"buckets": [(b / 1000, 0) for b in WAKEUP_BUCKETS_MS], "count": 0, "sum_seconds": 0.0},
    }
    await orch.enqueue_tasks("t", [{"id": f"x{i}", "max_attempts": 1} for i in range(7)])
    for i in range(7):
        task = await orch.claim_task("t", "a")
        assert task is not None
        if i % 2:
            await orch.fail_task("t", task.id, "boom", token=task.token)
        else:
            await orch.complete_task("t", task.id, {}, token=task.token)
    counters = await orch.get_team_counters("t")
    queue = await orch.get_queue_status("t")
    assert (counters.completed_total, counters.dead_total) == (4, 3)
    assert (counters.claims_total, counters.failures_total, counters.wakeup.count) == (7, 3, 7)
    assert (queue.completed_count, queue.dead_count) == (2, 1)  # trimmed; the totals are not
    assert counters.completed_total == queue.completed_total
    await orch.purge_dead("t")
    assert (await orch.get_team_counters("t")).dead_total == 3


async def test_claims_count_claim_complete_and_claim_and_assign_and_failures_every_attempt(backend: Backend) -> None:
    """Every hand-out is a claim; only claim and complete_and_claim are observed by the histogram;
    every accepted fail_task is a failure, retried or dead; a refused one is not."""
    orch = OrchestrationStateManager(backend=backend, backoff=NO_WAIT)
    await orch.create_team("t")
    await orch.enqueue_tasks("t", [{"id": f"x{i}", "max_attempts": 2} for i in range(6)])
    first = await orch.claim_task("t", "w")
    assert first is not None
    second = await orch.complete_and_claim("t", first.id, None, token=first.token)  # claim 2
    assert second is not None
    await orch.fail_task("t", second.id, "boom", token=second.token)  # failure 1: pending again
    with pytest.raises(LeaseError):
        await orch.fail_task("t", second.id, "stale", token=second.token)  # refused: not counted
    assigned = await orch.assign_task("t", "x5", "w")  # claim 3, not observed
    await orch.fail_task("t", assigned.id, "boom", retry=False, token=assigned.token)  # failure 2: dead
    counters = await orch.get_team_counters("t")
    assert (counters.claims_total, counters.failures_total, counters.wakeup.count) == (3, 2, 2)
    assert counters.wakeup.buckets[-1][1] == counters.wakeup.count  # nothing waited over 5 minutes
    assert (counters.completed_total, counters.dead_total, counters.stalls_total) == (1, 1, 0)


async def test_stalls_count_leases_collected_by_reap_and_by_claim_dead_lettered_or_not(backend: Backend) -> None:
    """A stall is an expired lease collected, by reap or by a claim, whether its task goes back to
    pending or (past max_stalls) to the dead letters."""
    orch = OrchestrationStateManager(backend=backend, max_stalls=1)
    await orch.create_team("t")
    await orch.enqueue_tasks("t", [{"id": "a"}, {"id": "b"}])
    for _ in range(2):  # leases long enough that the second claim cannot collect the first's
        assert await orch.claim_task("t", "w", lease=0.5) is not None
    await asyncio.sleep(0.6)
    assert (await orch.reap("t"))["stalled"] == 2  # 2 stalls, both pending again
    assert (await orch.get_team_counters("t")).stalls_total == 2
    again = await orch.claim_task("t", "w", lease=0.05)
    assert again is not None and again.id == "a"
    await asyncio.sleep(0.15)
    other = await orch.claim_task("t", "w2", lease=30)  # collects a's lease first: its second stall
    assert other is not None and other.id == "b"
    assert (await orch.get_task("t", "a")).status == "dead"
    counters = await orch.get_team_counters("t")
    assert (counters.stalls_total, counters.dead_total, counters.claims_total) == (3, 1, 4)
    assert (await orch.reap("t"))["stalled"] == 0
    assert (await orch.get_team_counters("t")).stalls_total == 3


async def test_the_wait_counts_from_enqueue_or_from_becoming_pending_again(backend: Backend) -> None:
    """A fresh task waits from its enqueue; a retry from its due time, a delayed task from its run_at,
    a dependent from its dependency's completion, a stalled task from its collection."""
    orch = OrchestrationStateManager(backend=backend, backoff=Backoff(kind="fixed", delay=0.2, jitter=0))
    await orch.create_team("t")

    async def observe(claim: Awaitable[ClaimedTask | None]) -> tuple[float, ClaimedTask]:
        """The seconds the claimed task waited, by the histogram's sum."""
        before = await orch.get_team_counters("t")
        task = await claim
        assert task is not None
        after = await orch.get_team_counters("t")
        assert after.wakeup.count == before.wakeup.count + 1
        return waits(after) - waits(before), task

    t0 = time.monotonic()
    await orch.enqueue_task("t", {"id": "fresh", "max_attempts": 2})
    await asyncio.sleep(0.3)
    waited, fresh = await observe(orch.claim_task("t", "w"))
    assert 0.29 <= waited <= time.monotonic() - t0 + 0.002

    t0 = time.monotonic()
    await orch.fail_task("t", "fresh", "boom", token=fresh.token)  # its retry is due in 0.2 s
    await asyncio.sleep(0.5)
    waited, _ = await observe(orch.claim_task("t", "w"))
    assert 0.29 <= waited <= time.monotonic() - t0 - 0.2 + 0.002  # from the due time, not from the enqueue

    t0 = time.monotonic()
    await orch.enqueue_task("t", {"id": "later"}, delay=0.2)
    await asyncio.sleep(0.5)
    waited, _ = await observe(orch.claim_task("t", "w"))
    assert 0.29 <= waited <= time.monotonic() - t0 - 0.2 + 0.002

    await orch.enqueue_task("t", {"id": "parent"})
    await orch.enqueue_task("t", {"id": "child", "depends_on": ["parent"]})
    parent = await orch.claim_task("t", "w")
    assert parent is not None and parent.id == "parent"
    await asyncio.sleep(0.4)
    t0 = time.monotonic()
    await orch.complete_task("t", "parent", "ok", token=parent.token)
    waited, _ = await observe(orch.claim_task("t", "w"))
    assert waited <= time.monotonic() - t0 + 0.002  # from the completion, not the enqueue

    await orch.enqueue_task("t", {"id": "stuck"})
    assert (await orch.claim_task("t", "w", lease=0.05)) is not None
    await asyncio.sleep(0.3)
    t0 = time.monotonic()
    await orch.reap("t")
    waited, _ = await observe(orch.claim_task("t", "w"))
    assert waited <= time.monotonic() - t0 + 0.002  # from the reap that put it back


async def test_each_observation_lands_in_its_bucket(backend: Backend) -> None:
    """Buckets are cumulative (Prometheus le); one observation at a time shows where it went."""
    orch = OrchestrationStateManager(backend=backend)
    await orch.create_team("t")
    previous = await orch.get_team_counters("t")
    for i, pause in enumerate((0.0, 0.03, 0.12, 0.3)):
        await orch.enqueue_task("t", {"id": f"x{i}"})
        await asyncio.sleep(pause)
        assert await orch.claim_task("t", "w") is not None
        now = await orch.get_team_counters("t")
        ms = round((waits(now) - waits(previous)) * 1000)
        assert ms >= pause * 1000 - 1
        grew = [bound for (bound, n), (_, m) in zip(now.wakeup.buckets, previous.wakeup.buckets) if n == m + 1]
        first = next(b for b in WAKEUP_BUCKETS_MS if ms <= b)
        assert grew and grew[0] == first / 1000, (ms, grew)  # its bucket and every larger one
        assert len(grew) == len([b for b in WAKEUP_BUCKETS_MS if b >= first])
        previous = now


def test_the_python_buckets_mirror_the_lua_ones() -> None:
    lua = (Path(__file__).parents[2] / "lua/lib/orchestration_claim.lua").read_text()
    found = re.search(r"local WAKE_BUCKETS_MS = \{([^}]*)\}", lua)
    assert found
    assert tuple(int(b) for b in found.group(1).split(",")) == WAKEUP_BUCKETS_MS


async def test_an_unknown_team_is_not_found_and_a_bad_id_invalid(backend: Backend) -> None:
    orch = OrchestrationStateManager(backend=backend)
    with pytest.raises(NotFoundError):
        await orch.get_team_counters("nobody")
    with pytest.raises(InvalidInputError):
        await orch.get_team_counters("")


def test_workers_in_several_processes_count_every_claim_failure_and_stall(redis_url: str, prefix: str) -> None:
    """Three processes claim, fail once, let a lease lapse (2 s: no task stalls by accident), and
    complete 60 tasks between them: the totals are exact, as every increment is part of the script
    that did the work."""

    async def setup() -> None:
        from agentstate_redis import RedisBackend

        async with OrchestrationStateManager(backend=RedisBackend(redis_url, key_prefix=prefix)) as orch:
            await orch.create_team("t")
            await orch.enqueue_tasks(
                "t",
                [
                    {
                        "id": f"x{i:02d}",
                        "max_attempts": 3,
                        "data": {"mode": "stall" if i % 20 == 0 else "fail_once" if i % 4 == 1 else "ok"},
                    }
                    for i in range(60)
                ],
            )

    async def read() -> TeamCounters:
        from agentstate_redis import RedisBackend

        async with OrchestrationStateManager(backend=RedisBackend(redis_url, key_prefix=prefix)) as orch:
            return await orch.get_team_counters("t")

    asyncio.run(setup())
    done = run_processes(counted_worker, [(redis_url, prefix, "t", f"w{i}") for i in range(3)])
    counters = asyncio.run(read())
    fails, stalls = 15, 3  # i % 4 == 1 fail their first attempt; i % 20 == 0 outlive their first lease
    assert sum(d["claims"] for d in done) == counters.claims_total == 60 + fails + stalls
    assert sum(d["fails"] for d in done) == counters.failures_total == fails
    assert counters.stalls_total == stalls
    assert counters.completed_total == 60 and counters.wakeup.count == counters.claims_total


def counted_worker(redis_url: str, prefix: str, team: str, agent_id: str) -> dict[str, int]:
    """Work the queue until it is empty (claim_task when idle, else complete_and_claim); tasks whose
    data says ``fail_once`` fail their first attempt, ``stall`` are abandoned on it (the lease lapses).
    Returns the claims this process got and the failures it reported."""
    return asyncio.run(_counted(redis_url, prefix, team, agent_id))


async def _counted(redis_url: str, prefix: str, team: str, agent_id: str) -> dict[str, int]:
    from agentstate_redis import RedisBackend

    counts = {"claims": 0, "fails": 0}
    orch = OrchestrationStateManager(
        backend=RedisBackend(redis_url, key_prefix=prefix), lease=2.0, max_stalls=5, backoff=NO_WAIT
    )
    async with orch:
        task: Any = None
        while True:
            if task is None:
                task = await orch.claim_task(team, agent_id, wait=0.3)
                if task is None:
                    if await nothing_left(orch, team):
                        return counts
                    continue
                counts["claims"] += 1
            mode = (task.data or {}).get("mode")
            if task.attempts == 1 and mode == "stall":
                task = None
            elif task.attempts == 1 and mode == "fail_once":
                await orch.fail_task(team, task.id, "made to fail once", token=task.token)
                counts["fails"] += 1
                task = None
            else:
                task = await orch.complete_and_claim(team, task.id, None, token=task.token)
                counts["claims"] += task is not None

"""Schedules across processes and restarts (issue 22, item 4), against real servers.

* 4 scheduler processes on one fast ``every`` schedule of 60 ticks: each tick enqueued once,
  on time or later (never early), and the schedule's claim counter says no tick was claimed twice.
* The same across a Redis SIGKILL and restart in the middle (AOF, appendfsync always): no tick
  lost or doubled, the ticks of the outage caught up (catchup "all").
* A fleet of schedulers stopped for several ticks, then started again: "all" runs every missed
  tick, "latest" only the newest missed one, "none" none of them.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from agentstate_redis import EmbeddedRedis, OrchestrationStateManager, RedisBackend
from agentstate_redis.embedded import free_port

from ..procs import run_processes
from ..workers_schedules import scheduler_process

TEAM = "sched_fleet"
SCHEDULERS = 4
TICKS = 60
EVERY = 0.1


async def _tasks(orch: OrchestrationStateManager, schedule: str) -> list[tuple[int, float]]:
    """(tick ms, enqueued_at s) of every task of ``schedule``, sorted by tick."""
    tasks = await orch.list_tasks(TEAM, "pending", limit=10_000)
    out = [(int(t.id.rsplit("@", 1)[1]), t.enqueued_at or 0.0) for t in tasks if t.id.startswith(schedule + "@")]
    return sorted(out)


def _start_at(lead: float) -> float:
    """A grid tick ``lead`` seconds or so from now: the processes are up by then."""
    return (int(time.time() / EVERY) + round(lead / EVERY)) * EVERY


async def _exactly_once(orch: OrchestrationStateManager, start: float) -> list[tuple[int, float]]:
    got = await _tasks(orch, "fast")
    first = round(start * 1000)
    assert [t for t, _ in got] == [first + i * round(EVERY * 1000) for i in range(TICKS)]
    assert all(enqueued >= tick / 1000 - 0.002 for tick, enqueued in got), "a tick was enqueued before its time"
    (s,) = await orch.list_schedules(TEAM)
    assert (s.status, s.runs) == ("done", TICKS)  # 60 claims for 60 distinct ticks: none claimed twice
    return got


async def test_four_schedulers_enqueue_each_of_60_ticks_once(redis_url: str, prefix: str) -> None:
    async with OrchestrationStateManager(backend=RedisBackend(redis_url, key_prefix=prefix)) as orch:
        await orch.create_team(TEAM)
        start = _start_at(4.0)
        await orch.add_schedule(TEAM, "fast", {"type": "tick"}, every=EVERY, start_at=start, limit=TICKS, catchup="all")
        args = [(redis_url, prefix, TEAM, 60.0, "fast") for _ in range(SCHEDULERS)]
        stats = await asyncio.to_thread(run_processes, scheduler_process, args, 120)
        await _exactly_once(orch, start)
        assert sum(s["enqueued"] for s in stats) == TICKS
        assert all(s["passes"] > 0 for s in stats)
        # woken for each tick, not polling: the fleet made a few passes per tick, not thousands
        assert sum(s["passes"] for s in stats) < SCHEDULERS * TICKS * 4


@pytest.mark.slow
async def test_no_tick_lost_or_doubled_across_a_redis_restart(tmp_path: Path, prefix: str) -> None:
    server = EmbeddedRedis(free_port(), data_dir=tmp_path / "data", appendonly=True, appendfsync="always").start()
    backend = RedisBackend(server.url, key_prefix=prefix, retry_seconds=30)
    try:
        async with OrchestrationStateManager(backend=backend) as orch:
            await orch.create_team(TEAM)
            start = _start_at(4.0)
            await orch.add_schedule(
                TEAM, "fast", {"type": "tick"}, every=EVERY, start_at=start, limit=TICKS, catchup="all"
            )
            args = [(server.url, prefix, TEAM, 90.0, "fast", 30.0) for _ in range(SCHEDULERS)]
            fleet = asyncio.ensure_future(asyncio.to_thread(run_processes, scheduler_process, args, 150))
            # a third of the ticks in (seen, not assumed: a loaded machine starts the processes late)
            for _ in range(3000):
                if len(await _tasks(orch, "fast")) >= TICKS // 3 or fleet.done():
                    break
                await asyncio.sleep(0.02)
            before = len(await _tasks(orch, "fast"))
            server.stop(kill=True)  # SIGKILL a third of the way in
            down = time.time()
            await asyncio.sleep(1.0)  # ten ticks with no server
            server.start()
            stats = await fleet
            got = await _exactly_once(orch, start)
            assert 0 < before < TICKS
            caught_up = [tick for tick, enqueued in got if down < tick / 1000 and enqueued - tick / 1000 > 0.5]
            assert len(caught_up) >= 5, "the outage's ticks were enqueued late, after the restart"
            assert sum(s["enqueued"] for s in stats) <= TICKS  # a reply lost in the kill is not counted
    finally:
        await backend.close()
        server.cleanup()


async def test_each_catchup_policy_after_the_schedulers_stop_for_several_ticks(redis_url: str, prefix: str) -> None:
    every, grace = 0.2, 0.3
    async with OrchestrationStateManager(backend=RedisBackend(redis_url, key_prefix=prefix)) as orch:
        await orch.create_team(TEAM)
        for policy in ("latest", "none", "all"):
            await orch.add_schedule(TEAM, policy, {"type": "tick"}, every=every, catchup=policy, misfire_grace=grace)
        await asyncio.to_thread(run_processes, scheduler_process, [(redis_url, prefix, TEAM, 2.0)] * 2, 60)
        stopped = time.time()
        await asyncio.sleep(2.5)  # at least 12 ticks with no scheduler (and the next fleet's start-up)
        await asyncio.to_thread(run_processes, scheduler_process, [(redis_url, prefix, TEAM, 2.0)] * 2, 60)
        step = round(every * 1000)
        for policy in ("latest", "none", "all"):
            got = await _tasks(orch, policy)
            ticks = [t for t, _ in got]
            assert len(ticks) == len(set(ticks))
            before = [t for t in ticks if t / 1000 < stopped]
            after = [(t, e) for t, e in got if t / 1000 >= stopped]
            assert before and after, policy
            skipped = (after[0][0] - before[-1]) // step - 1
            lateness = after[0][1] - after[0][0] / 1000  # of the first tick enqueued after the stop
            tail = [t for t, _ in after]
            assert tail == list(range(tail[0], tail[0] + step * len(tail), step)), f"{policy}: a gap after restart"
            if policy == "all":
                assert skipped == 0 and lateness > 2.0, (skipped, lateness)  # every missed tick, late
            elif policy == "latest":
                assert skipped >= 10 and lateness > grace, (skipped, lateness)  # the newest missed one, once
            else:
                assert skipped >= 10 and lateness < grace + 0.5, (skipped, lateness)  # only ticks on time

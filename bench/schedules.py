"""Schedules: how late a tick's task is enqueued, how often schedulers wake, what one claim costs.

Four schedulers (each with its own connection, as four pods would have) run one ``every`` schedule
of 50 ms (catchup "all") for ``duration`` s; each task's ``enqueued_at`` (server clock) minus its
tick is its lateness. Passes per tick show the schedulers sleep until a tick is due rather than
poll. The claim's cost: ``run_due_schedules`` with one tick due (a due read + the fire script)
against ``enqueue_task`` of the same task (one script).
"""

from __future__ import annotations

import asyncio
import time

from agentstate_redis import OrchestrationStateManager, RedisBackend
from agentstate_redis.worker import run_scheduler

from .common import Comparison, Section, delete_prefix, pct, run_id

SCHEDULERS = 4
EVERY = 0.05


async def _lateness(url: str, prefix: str, duration: float, schedulers: int) -> tuple[list[float], int, int]:
    """(lateness of each tick in ms, ticks, scheduler passes) over ``duration`` s."""
    orchs = [
        OrchestrationStateManager(backend=RedisBackend(url, key_prefix=prefix), completed_retention=10)
        for _ in range(schedulers)
    ]
    team = f"late{run_id()}"
    try:
        await orchs[0].create_team(team)
        await orchs[0].add_schedule(team, "fast", {"type": "tick"}, every=EVERY, catchup="all")
        stop = asyncio.Event()
        jobs = [asyncio.ensure_future(run_scheduler(o, team, stop=stop, install_signals=False)) for o in orchs]
        await asyncio.sleep(duration)
        stop.set()
        stats = await asyncio.gather(*jobs)
        tasks = await orchs[0].list_tasks(team, "pending", limit=100_000)
        late = [((t.enqueued_at or 0) - int(t.id.rsplit("@", 1)[1]) / 1000) * 1000 for t in tasks]
        return late, len(tasks), sum(s.passes for s in stats)
    finally:
        for o in orchs:
            await o.close()


async def _claim_cost(url: str, prefix: str, duration: float) -> tuple[list[int], list[int]]:
    """Latencies (ns) of a pass that claims one due tick, and of enqueue_task, interleaved."""
    orch = OrchestrationStateManager(backend=RedisBackend(url, key_prefix=prefix))
    team = f"cost{run_id()}"
    clock = time.perf_counter_ns
    passes: list[int] = []
    enqueues: list[int] = []
    try:
        await orch.create_team(team)
        await orch.add_schedule(team, "due", {"type": "tick"}, every=EVERY, catchup="all")
        await orch.run_due_schedules(team)
        end = time.perf_counter() + duration
        n = 0
        while time.perf_counter() < end:
            tick = (int(time.time() / EVERY) + 1) * EVERY
            await asyncio.sleep(tick - time.time() + 0.005)  # just after the next tick: one is due
            t0 = clock()
            claimed = await orch.run_due_schedules(team)
            spent = clock() - t0
            if len(claimed) == 1:
                passes.append(spent)
            t0 = clock()
            await orch.enqueue_task(team, {"id": f"plain{n}", "type": "tick"})
            enqueues.append(clock() - t0)
            n += 1
    finally:
        await orch.close()
    return passes, enqueues


async def run(url: str, duration: float = 2.0, repeats: int = 3, schedulers: int = SCHEDULERS) -> Section:
    sec = Section("Schedules")
    t_start = time.perf_counter()
    prefix = f"bench{run_id()}:"
    try:
        for _ in range(repeats):
            late, ticks, passes = await _lateness(url, prefix, max(duration, 1.0), schedulers)
            sec.add(f"tick lateness p50 ({schedulers} schedulers, every {EVERY * 1000:.0f} ms)", pct(late, 50), "ms")
            sec.add(f"tick lateness worst ({schedulers} schedulers)", max(late) if late else float("nan"), "ms")
            sec.add("scheduler passes per tick (all schedulers)", passes / ticks if ticks else float("nan"), "passes")
            cost, plain = await _claim_cost(url, prefix, duration / 2)
            sec.add("pass claiming one due tick p50", pct(cost, 50) / 1000, "µs")
            sec.add("pass claiming one due tick worst", max(cost, default=float("nan")) / 1000, "µs")
            sec.add("enqueue_task p50", pct(plain, 50) / 1000, "µs")
            sec.add("enqueue_task worst", max(plain) / 1000, "µs")
    finally:
        await delete_prefix(url, f"{prefix}*")
    sec.comparisons.append(
        Comparison(
            "pass claiming one tick p50 / enqueue_task p50", "pass claiming one due tick p50", "enqueue_task p50"
        )
    )
    sec.notes.append(
        "a pass is two script calls (the due read, then the fire script that claims the tick and "
        "enqueues its task), so about twice one enqueue; lateness includes the wake-up of a "
        "blocked BLPOP at the tick's time and the 4 schedulers' race for it."
    )
    sec.seconds = time.perf_counter() - t_start
    return sec

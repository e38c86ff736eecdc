"""A fleet through a fault proxy: resets, cut replies, lost acks, black holes and delays, for about a minute.

Three workers on ``complete_and_claim``, two compare-and-set writers, two field updaters and
a subscriber reach Redis only through a FaultProxy; a driver cycles the faults while tasks
keep arriving. The black holes are mostly shorter than the calls' retries (they ride
through) and one is longer (callers see typed errors); one field updater is SIGSTOPped with
a write in flight until the server has forgotten its op id (before the runner's resend
limit, that write applied twice; a CAS writer was told an applied increment had failed and
the test caught the stored count one ahead). Afterwards: no task lost, none
completed twice, every increment and update applied exactly once (an unknown outcome is
reconciled by the caller from a field only it writes), every exception a caller saw is an
``AgentStateError``, and the subscriber reconnected and got events after the faults.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from agentstate_redis import OrchestrationStateManager, RedisBackend, StateManager

from ..fault_proxy import FaultProxy
from ..procs import run_processes
from ..waiting import eventually
from ..workers_faults import FLEET_LIVENESS, FLEET_RETRY, FLEET_WINDOW_MS, fleet_member

TEAM = "faults"
FAULT_SECONDS = 40.0
LONG_BLACKHOLE = FLEET_LIVENESS + FLEET_RETRY + 3.0  # outlasts a call's first timeout plus its retries
PAUSE = 2 * FLEET_WINDOW_MS / 1000 + 1.5  # the server keeps an op id for one to two windows
TASKS_PER_TICK = 40


async def _pause_mid_write(proxy: FaultProxy, pid: int) -> None:
    """Lose the replies to the writes in flight, stop ``pid`` (SIGSTOP) past the op-id window, continue it.

    The paused process finds its reply timeout long expired (the loop's clock ran on): it must
    not resend, because the server has forgotten the op id by then.
    """
    proxy.blackhole_replies()
    await asyncio.sleep(0.3)  # its current write reaches the server; the reply does not come back
    os.kill(pid, signal.SIGSTOP)
    try:
        proxy.heal()
        await asyncio.sleep(PAUSE)
    finally:
        os.kill(pid, signal.SIGCONT)


async def _drive_faults(proxy: FaultProxy, seconds: float, log: list[str], paused: int) -> None:
    """Cycle through every fault, with a little normal running between two; one long black hole,
    and one pause of the process ``paused`` with a write in flight."""

    def hold(name: str, start: Callable[[], None], duration: float) -> Callable[[], Awaitable[None]]:
        async def fault() -> None:
            start()
            await asyncio.sleep(duration)
            proxy.heal()

        fault.__name__ = name
        return fault

    def now(name: str, action: Callable[[], Any]) -> Callable[[], Awaitable[None]]:
        async def fault() -> None:
            action()

        fault.__name__ = name
        return fault

    cycle = [
        now("reset", proxy.reset_all),
        now("cut replies", lambda: proxy.cut_replies(4)),
        hold("black hole 1s", proxy.blackhole, 1.0),
        now("lose acks", lambda: proxy.lose_acks(4)),
        hold("delay 50ms", lambda: proxy.set_delay(0.05), 2.0),
        hold("replies black-holed 1s", proxy.blackhole_replies, 1.0),
        hold("delay 500ms", lambda: proxy.set_delay(0.5), 2.0),
        hold("black hole 0.5s", proxy.blackhole, 0.5),
    ]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    long_done = pause_done = False
    i = 0
    while loop.time() < deadline:
        if not long_done and loop.time() > deadline - seconds * 3 / 4:
            fault = hold("long black hole", proxy.blackhole, LONG_BLACKHOLE)
            long_done = True
        elif not pause_done and loop.time() > deadline - seconds * 2 / 5:

            async def fault() -> None:
                await _pause_mid_write(proxy, paused)

            fault.__name__ = "pause past the op window"
            pause_done = True
        else:
            fault = cycle[i % len(cycle)]
            i += 1
        log.append(fault.__name__)
        await fault()
        await asyncio.sleep(1.0)  # normal running: the fleet catches up
    proxy.heal()


async def test_a_fleet_through_every_fault_loses_nothing_and_applies_everything_once(
    redis_url: str, prefix: str
) -> None:
    backend = RedisBackend(redis_url, key_prefix=prefix)  # the truth, around the proxy
    orch = OrchestrationStateManager(backend=backend, completed_retention=100_000)
    state = StateManager(backend=backend)
    ctx = mp.get_context("spawn")
    stop, final, ready = ctx.Event(), ctx.Event(), ctx.Queue()
    ids: list[str] = []
    faults: list[str] = []
    with FaultProxy.for_url(redis_url) as proxy:
        try:
            await orch.create_team(TEAM)
            await state.save("counter", {"n": 0})
            await state.save("fields", {})

            async def enqueue(n: int) -> None:
                batch = [f"t{len(ids) + i}" for i in range(n)]
                await orch.enqueue_tasks(TEAM, [{"id": t} for t in batch])
                ids.extend(batch)

            await enqueue(200)
            url = proxy.url
            members = (
                [("queue", url, prefix, TEAM, f"w{i}", stop, ready) for i in range(3)]
                + [("cas", url, prefix, "counter", f"c{i}", stop, ready) for i in range(2)]
                + [("fields", url, prefix, "fields", f"u{i}", stop, ready) for i in range(2)]
                + [("subscriber", url, prefix, "f*", stop, ready, final)]
            )
            fleet = asyncio.ensure_future(asyncio.to_thread(run_processes, fleet_member, members, 240))

            pids = {}
            for _ in members:  # every member connected (a first connection is not retried) before the faults
                name, pid = await asyncio.to_thread(ready.get, True, 90)
                pids[name] = pid
            driver = asyncio.ensure_future(_drive_faults(proxy, FAULT_SECONDS, faults, paused=pids["u0"]))
            while not driver.done():  # work keeps arriving while the faults run
                await enqueue(TASKS_PER_TICK)
                await asyncio.wait({driver, fleet}, timeout=0.5)
                if fleet.done():
                    await fleet
                    raise AssertionError("the fleet stopped during the faults")
            await driver  # no reset here: the subscriber recovers from the black holes alone

            async def all_completed() -> bool:
                return (await orch.get_queue_status(TEAM, page_size=0)).completed_total >= len(ids)

            await eventually(all_completed, timeout=90, what="every task to be completed", fleet=fleet, interval=0.2)
            for _ in range(30):  # pub/sub is at-most-once: one published while it reconnects is gone
                await state.save("final", {"final": True})
                if await asyncio.to_thread(final.wait, 1.0):
                    break
            assert final.is_set(), "the subscriber got no event in 30 s after the faults"
        finally:
            stop.set()
        results: list[dict[str, Any]] = await fleet
        stats = proxy.stats
    by_role: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_role.setdefault(r["role"], []).append(r)
    seen: Counter[str] = Counter()
    for r in results:
        seen.update(r.get("errors", {}))
    accepted = [(tid, tok) for r in by_role["queue"] for tid, tok in r["accepted"]]
    print(
        f"\nfault fleet: {len(ids)} tasks, {len(accepted)} acked completions, "
        f"CAS {sum(r['applied'] for r in by_role['cas'])} "
        f"({sum(r['reconciled'] for r in by_role['cas'])} reconciled, "
        f"{sum(r['conflicts'] for r in by_role['cas'])} conflicts), "
        f"updates {sum(r['applied'] for r in by_role['fields'])} "
        f"({sum(r['reconciled'] for r in by_role['fields'])} reconciled); errors {dict(seen)}; "
        f"subscriber {by_role['subscriber'][0]}; proxy {stats}; faults {dict(Counter(faults))}"
    )
    try:
        # the faults happened
        assert stats.resets and stats.acks_lost and stats.replies_cut, stats
        assert "long black hole" in faults and "pause past the op window" in faults, faults

        # every error a caller saw is one of ours
        foreign = [f for r in results for f in r.get("foreign", [])]
        assert not foreign, foreign[:10]
        assert seen["OutcomeUnknownError"] + seen["BackendUnavailableError"] > 0, (
            f"the long black hole reached no caller: {seen}"
        )

        # tasks: none lost, none completed twice, the stored completion is the one acknowledged
        twice = [t for t, n in Counter(tid for tid, _ in accepted).items() if n > 1]
        assert not twice, f"completed twice: {twice[:10]}"
        status = await orch.get_queue_status(TEAM, page_size=0)
        assert status.completed_total == status.completed_count == len(ids)
        assert (status.pending_count, status.in_progress_count, status.dead_count) == (0, 0, 0)
        stored = {t.id: t.token for t in await orch.list_tasks(TEAM, "completed", limit=len(ids))}
        assert set(stored) == set(ids)
        assert all(stored[tid] == tok for tid, tok in accepted), "an acknowledged completion is not the stored one"

        # compare-and-set: the counter is exactly the increments that applied, each once
        counter = await state.get_entry("counter")
        assert counter is not None
        applied = {r["writer"]: r["applied"] for r in by_role["cas"]}
        assert counter.value == {"n": sum(applied.values()), **applied}
        assert counter.version == 1 + sum(applied.values())

        # field updates: each applied once (the version counts every application)
        fields = await state.get_entry("fields")
        assert fields is not None
        updated = {r["field"]: r["applied"] for r in by_role["fields"]}
        assert fields.value == {f: n for f, n in updated.items() if n}
        assert fields.version == 1 + sum(updated.values())

        # the subscriber reconnected and events flowed again after the faults
        sub = by_role["subscriber"][0]
        assert sub["reconnects"] >= 1 and sub["final_after_reconnects"] is not None, sub
        assert sub["events"] > 0
        # every reconnect told the subscription what it may have missed, silent connections included
        assert sum(sub["gaps"].values()) >= sub["reconnects"], sub
        assert sub["gaps"].get("unresponsive", 0) >= 1, sub  # the long black hole was noticed by replies
        assert set(sub["gaps"]) <= {"reconnect", "unresponsive", "overflow", "topology"}, sub
    finally:
        await backend.close()

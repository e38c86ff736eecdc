"""run_scheduler: enqueue a team's schedule ticks as they come due, in any number of processes at once.

    >>> await orch.add_schedule("research_team", "poll", {"type": "poll"}, every=30)
    >>> stats = await run_scheduler(orch, "research_team")          # until SIGTERM/SIGINT or ``stop``
    >>> stats.enqueued

Each pass reads the due schedules and claims their ticks with orchestration/schedule_fire, which
enqueues each tick's task exactly once whoever else runs a scheduler; between passes it sleeps
until the next tick is due (blocking on a marker list that add_schedule and resume_schedule push
to, so a new schedule is seen at once), at most ``MAX_SLEEP_SECONDS``. After an outage (no
scheduler running, Redis away) the first pass applies each schedule's ``catchup``. run_worker runs
one beside its claims (``schedules=True``); ``agentstate scheduler`` runs one alone. When Redis is
over maxmemory or unreachable it backs off as run_worker does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from ..errors import AgentStateError, NotFoundError
from ..orchestration import OrchestrationStateManager
from .runner import BACK_OFF_ON, MAX_BACKOFF, MIN_BACKOFF, _sleep_unless
from .signals import stop_on_signals

log = logging.getLogger("agentstate_redis.scheduler")


@dataclass
class SchedulerStats:
    """What one run_scheduler call did."""

    passes: int = 0  # scheduler passes (reads of the due schedules)
    enqueued: int = 0  # tasks this scheduler enqueued (ticks another one claimed are not counted)


async def run_scheduler(
    orch: OrchestrationStateManager,
    team_id: str,
    *,
    stop: asyncio.Event | None = None,
    install_signals: bool = True,
) -> SchedulerStats:
    """Enqueue the team's due ticks until ``stop`` is set or a stop signal arrives.

    ``await run_scheduler(orch, "research_team", stop=stop)``. Run it in as many processes as
    you like (every run_worker does): each tick is still enqueued once. A team that does not
    exist yet is waited for.
    """
    stop = stop if stop is not None else asyncio.Event()
    stats = SchedulerStats()
    signals = stop_on_signals(stop) if install_signals else contextlib.nullcontext()
    backoff = MIN_BACKOFF
    with signals:
        while not stop.is_set():
            try:
                created, wait_ms, wake = await orch._schedule_pass(team_id)
            except (*BACK_OFF_ON, NotFoundError) as exc:
                log.warning("scheduler pass for team %s failed (%s); trying again in %.1f s", team_id, exc, backoff)
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            except AgentStateError as exc:  # a refused claim (a bug, a hand-edited schedule): never spin
                log.error("scheduler pass for team %s failed: %s", team_id, exc)
                await _sleep_unless(stop, MAX_BACKOFF)
                continue
            backoff = MIN_BACKOFF
            stats.passes += 1
            stats.enqueued += len(created)
            if created:
                log.info("team %s: enqueued %d scheduled task(s): %s", team_id, len(created), ", ".join(created[:5]))
            if wait_ms != 0 and not stop.is_set():
                try:
                    await orch._sleep_for_schedules(wake, wait_ms, stop)
                except Exception as exc:  # noqa: BLE001 - the wait failed, not a pass: sleep plainly
                    log.warning("scheduler of team %s: waiting for the next tick failed (%s)", team_id, exc)
                    await _sleep_unless(stop, min(wait_ms / 1000 if wait_ms > 0 else MAX_BACKOFF, MAX_BACKOFF))
    return stats

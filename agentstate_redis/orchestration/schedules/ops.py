"""Schedules on OrchestrationStateManager: a task template enqueued once per tick, exactly once.

    >>> await orch.add_schedule("research_team", "hourly-report", {"type": "report", "data": {"scope": "all"}},
    ...                         cron="0 * * * *", timezone="Europe/Paris")
    >>> await orch.add_schedule("research_team", "poll", {"type": "poll"}, every=30, catchup="none")
    >>> await orch.pause_schedule("research_team", "poll"); await orch.resume_schedule("research_team", "poll")
    >>> [s.schedule_id for s in await orch.list_schedules("research_team")]
    ['hourly-report', 'poll']
    >>> await orch.run_due_schedules("research_team")     # one scheduler pass; run_scheduler loops it
    ['poll@1764684030000']

Each tick enqueues one task whose id is ``f"{schedule_id}@{tick in ms}"``; the pass that claims a
tick and the enqueue are one script (orchestration/schedule_fire), which accepts a claim only as
the successor of the schedule's stored next tick and only once it is due by the server clock. So
however many processes run the scheduler, and across Redis restarts (with AOF), a tick is enqueued
once. The keys are the team's (one hash tag): cluster-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Mapping
from typing import Any, cast

import orjson

from ...errors import InvalidInputError
from ...keys import validate_id
from ...scripts import is_transient
from ...validate import integer, positive_number
from ..common import TeamBase
from ..models import Task
from ..wire import as_list, pairs, reply
from .models import CATCHUPS, Catchup, Schedule, ScheduleStatus
from .ticks import TickRule, check_cron, check_timezone, plan

#: Due schedules one pass reads (one script call); a pass that read this many runs again at once.
DUE_BATCH = 100
#: The longest one sleep of the scheduler blocks (under the client's socket and liveness timeouts).
MAX_SLEEP_SECONDS = 5.0
#: The last stretch before a due tick is slept on a local timer: a blocked BLPOP times out only as
#: precisely as the server's ``hz`` (100 ms steps by default), so it wakes the scheduler this long
#: before the tick at the latest, and a timer takes it to the tick.
PRECISE_SECONDS = 0.25
#: The shortest period of an ``every`` schedule, in seconds.
MIN_EVERY = 0.01
#: Times (start_at, end_at) are epoch seconds up to this (the year 5138).
MAX_EPOCH = 1e11


def _epoch(what: str, value: Any) -> int | None:
    if value is None:
        return None
    return int(positive_number(what, value, maximum=MAX_EPOCH) * 1000)


def _opt_int(text: str | None) -> int | None:
    return int(text) if text not in (None, "") else None


def _seconds(ms: str | None) -> float | None:
    return int(ms) / 1000 if ms not in (None, "") else None


def decode_schedule(flat: Any) -> Schedule:
    """A flat schedule hash (as the scripts return it) as a Schedule."""
    f = pairs(flat)
    payload = orjson.loads(f["payload"]) if f.get("payload") else {}
    kind, cap = f.get("type", ""), f.get("cap", "")
    template: dict[str, Any] = {}
    if kind:
        template["type"] = kind
    if cap != kind:
        template["capability"] = cap or None
    template.update(
        priority=int(f.get("prio", 50)),
        max_attempts=int(f.get("max_attempts", 1)),
        data=payload.get("data"),
        **(payload.get("extra") or {}),
    )
    every = _opt_int(f.get("every_ms"))
    status = f.get("status", "active")
    next_ms = _opt_int(f.get("next_ms"))
    if next_ms is None and status == "active":  # not computed by a scheduler yet: its first tick
        next_ms = rule_of(f).first_at_or_after(int(f.get("from_ms") or 0))
    return Schedule.model_construct(
        schedule_id=f["id"],
        task_template=template,
        every=every / 1000 if every else None,
        cron=f.get("cron") or None,
        timezone=f.get("tz") or "UTC",
        start_at=_seconds(f.get("start_ms")),
        end_at=_seconds(f.get("end_ms")),
        limit=_opt_int(f.get("limit")),
        catchup=cast(Catchup, f.get("catchup", "latest")),
        misfire_grace=int(f.get("grace_ms", 1000)) / 1000,
        status=cast(ScheduleStatus, status),
        next_run_at=None if next_ms is None else next_ms / 1000,
        last_run_at=_seconds(f.get("last_tick")),
        runs=int(f.get("runs", 0)),
        version=int(f.get("rev", 0)),
        created_at=_seconds(f.get("created_at")),
        updated_at=_seconds(f.get("updated_at")),
    )


def rule_of(f: Mapping[str, str]) -> TickRule:
    """The tick rule of a flat schedule hash."""
    return TickRule.of(
        every_ms=_opt_int(f.get("every_ms")),
        cron=f.get("cron", ""),
        tz=f.get("tz") or "UTC",
        start_ms=_opt_int(f.get("start_ms")),
    )


class ScheduleOps(TeamBase):
    async def add_schedule(
        self,
        team_id: str,
        schedule_id: str,
        task_template: Task | Mapping[str, Any],
        *,
        every: float | None = None,
        cron: str | None = None,
        timezone: str = "UTC",
        start_at: float | None = None,
        end_at: float | None = None,
        limit: int | None = None,
        catchup: str = "latest",
        misfire_grace: float = 1.0,
    ) -> Schedule:
        """Enqueue ``task_template`` (a task without an id) at every tick; returns the schedule.

        ``await orch.add_schedule("t", "poll", {"type": "poll"}, every=30)`` ticks every 30 s (on
        multiples of 30 s since the epoch, or of ``start_at``); ``cron="0 9 * * 1-5",
        timezone="Europe/Paris"`` at 9:00 Paris time on weekdays (croniter syntax, 5 fields or 6
        with seconds last). No tick before ``start_at`` or after ``end_at`` (epoch seconds), at
        most ``limit`` ticks; then the schedule is ``done``. A tick claimed more than
        ``misfire_grace`` seconds late (every scheduler was down, or Redis) was missed, and
        ``catchup`` says what runs: ``"latest"`` the newest missed tick once, ``"none"`` nothing,
        ``"all"`` every missed tick. Adding the same definition again changes nothing (every pod
        may add its schedules at boot); a different one replaces it from now on.
        Bad input (both or neither of every/cron, an invalid cron expression or timezone, an id in
        the template) raises InvalidInputError and writes nothing.
        """
        validate_id("schedule", schedule_id)
        self._team(team_id)
        if (every is None) == (cron is None):
            raise InvalidInputError(f"schedule {schedule_id!r}: give exactly one of every= (seconds) or cron=")
        if catchup not in CATCHUPS:
            raise InvalidInputError(f"schedule {schedule_id!r}: catchup must be one of {CATCHUPS}, got {catchup!r}")
        tz = check_timezone(timezone)
        every_ms = ""
        if every is not None:
            every_ms = str(int(positive_number("every", every) * 1000))
            if float(every) < MIN_EVERY:
                raise InvalidInputError(
                    f"schedule {schedule_id!r}: every must be at least {MIN_EVERY} s, got {every!r}"
                )
            if timezone != "UTC":
                raise InvalidInputError(
                    f"schedule {schedule_id!r}: timezone applies to cron schedules; an every "
                    f"schedule ticks every {every} s in any zone"
                )
        else:
            check_cron(cron, tz)  # type: ignore[arg-type]
        start_ms, end_ms = _epoch("start_at", start_at), _epoch("end_at", end_at)
        if start_ms is not None and end_ms is not None and end_ms < start_ms:
            raise InvalidInputError(f"schedule {schedule_id!r}: end_at ({end_at}) is before start_at ({start_at})")
        task = self._template(schedule_id, task_template)
        definition = [
            "every" if every is not None else "cron",
            every_ms,
            cron or "",
            timezone,
            "" if start_ms is None else start_ms,
            "" if end_ms is None else end_ms,
            "" if limit is None else integer("limit", limit),
            catchup,
            int(positive_number("misfire_grace", misfire_grace) * 1000),
            task.type or "",
            task.required_capability or "",
            task.priority,
            task.max_attempts,
            self._dumps({"data": task.data, "extra": task.extra}, what=f"template of schedule {schedule_id!r}"),
        ]
        spec = hashlib.sha1(orjson.dumps([str(v) for v in definition])).hexdigest()
        out = reply(await self._write("schedule_add", team_id, schedule_id, spec, *definition))
        return decode_schedule(out["schedule"])

    def _template(self, schedule_id: str, template: Task | Mapping[str, Any]) -> Task:
        from ..queue import to_task

        if isinstance(template, Task):
            fields = template.model_dump(include=(template.model_fields_set - {"id"}) | {"extra"})
            template = {**(fields.pop("extra", None) or {}), **fields}
        if not isinstance(template, Mapping):
            raise InvalidInputError(
                f"schedule {schedule_id!r}: task_template must be a dict or a Task, got {type(template).__name__}"
            )
        if "id" in template:
            raise InvalidInputError(
                f"schedule {schedule_id!r}: task_template must not have an id; each tick's "
                f"task id is '{schedule_id}@<tick ms>'"
            )
        task = to_task({**template, "id": f"{schedule_id}@0"}, self.max_attempts)
        if task.depends_on:
            raise InvalidInputError(
                f"schedule {schedule_id!r}: task_template must not have depends_on (a tick's task is enqueued alone)"
            )
        return task

    async def remove_schedule(self, team_id: str, schedule_id: str) -> bool:
        """Delete a schedule; True if it existed. The tasks it enqueued stay in the queue.

        ``await orch.remove_schedule("t", "poll")``
        """
        validate_id("schedule", schedule_id)
        return bool(await self._write("schedule_remove", team_id, schedule_id) == "1")

    async def pause_schedule(self, team_id: str, schedule_id: str) -> Schedule:
        """Stop a schedule's ticks until ``resume_schedule``: the ticks in between never run,
        whatever its ``catchup``. NotFoundError if unknown; pausing twice changes nothing.

        ``await orch.pause_schedule("t", "poll")``
        """
        validate_id("schedule", schedule_id)
        return decode_schedule(reply(await self._write("schedule_pause", team_id, schedule_id)))

    async def resume_schedule(self, team_id: str, schedule_id: str) -> Schedule:
        """Let a paused schedule tick again from its first tick at or after now.

        ``await orch.resume_schedule("t", "poll")`` (a ``done`` schedule stays done).
        """
        validate_id("schedule", schedule_id)
        return decode_schedule(reply(await self._write("schedule_resume", team_id, schedule_id)))

    async def list_schedules(self, team_id: str) -> list[Schedule]:
        """Every schedule of the team, sorted by id, each with its status, next tick and runs.

        ``[s.schedule_id for s in await orch.list_schedules("t")]``
        """
        out = await self._read("schedule_list", team_id)
        return [decode_schedule(flat) for flat in as_list(out.get("schedules"))]

    async def run_due_schedules(self, team_id: str) -> list[str]:
        """One scheduler pass: enqueue the team's due ticks (as each schedule's catchup says);
        returns the ids of the tasks enqueued. ``run_scheduler`` (and ``run_worker``) loop it.

        ``await orch.run_due_schedules("t")`` -> ``['poll@1764684030000']``
        """
        created: list[str] = []
        while True:
            enqueued, wait_ms, _ = await self._schedule_pass(team_id)
            created += enqueued
            if wait_ms != 0:
                return created

    async def _schedule_pass(self, team_id: str) -> tuple[list[str], int, str]:
        """Claim what is due now; returns (task ids enqueued, ms until the next due tick: 0 = run
        again at once, -1 = none scheduled, the wake list to block on)."""
        out = await self._read("schedule_due", team_id, DUE_BATCH)
        now = int(out["now"])
        due = as_list(out.get("due"))
        created: list[str] = []
        wait_ms = 0 if len(due) >= DUE_BATCH else int(out.get("wait_ms", -1))
        for flat in due:
            f = pairs(flat)
            step = plan(
                rule_of(f),
                next_ms=_opt_int(f.get("next_ms")),
                from_ms=int(f["from_ms"]),
                now=now,
                catchup=f.get("catchup", "latest"),
                grace_ms=int(f.get("grace_ms", 1000)),
                end_ms=_opt_int(f.get("end_ms")),
            )
            if step is None:
                continue
            fired = reply(
                await self._write(
                    "schedule_fire",
                    team_id,
                    self._window_ms(),
                    f["id"],
                    f.get("rev", ""),
                    f.get("next_ms", ""),
                    step.new_next,
                    *step.ticks,
                    op_id="",
                )
            )
            created += [str(t) for t in as_list(fired.get("created"))]
            status, nxt = fired.get("status"), str(fired.get("next", ""))
            if status == "early":  # the server clock stepped back: try again soon
                wait_ms = 10 if wait_ms < 0 else min(wait_ms, 10)
            elif status in ("fired", "stale") and not (status == "fired" and fired.get("done")):
                # its next tick (stored by us or by whoever claimed first): maybe due already (a long
                # catchup), '' when it changed under us and is to be computed again
                until = int(nxt) - now if nxt else 0
                wait_ms = max(until, 0) if wait_ms < 0 else min(wait_ms, max(until, 0))
        return created, wait_ms, str(out["wake"])

    async def _sleep_for_schedules(self, wake: str, wait_ms: int, stop: asyncio.Event) -> None:
        """Sleep until the next tick is due (``wait_ms``, -1 = none), a schedule is added or
        resumed (a marker on ``wake``), ``stop`` is set, or MAX_SLEEP_SECONDS passed."""
        seconds = MAX_SLEEP_SECONDS if wait_ms < 0 else wait_ms / 1000
        if seconds <= PRECISE_SECONDS:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)
            return
        block = max(min(seconds - PRECISE_SECONDS + 0.05, MAX_SLEEP_SECONDS, self.backend.liveness_timeout / 2), 0.05)
        pop = asyncio.ensure_future(self.backend.client.blpop([wake], timeout=block))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({pop, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for job in (pop, stopper):
                job.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pop
        exc = pop.exception() if pop.done() and not pop.cancelled() else None
        if exc is not None:
            if not is_transient(exc):
                raise exc
            await asyncio.sleep(0.05)  # a dropped connection only ends this sleep; the next pass retries

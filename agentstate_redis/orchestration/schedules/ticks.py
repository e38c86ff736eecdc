"""When a schedule ticks, and which due ticks a scheduler pass enqueues (pure functions).

    >>> rule = TickRule.of(every_ms=60_000, cron="", tz="UTC", start_ms=None)
    >>> rule.first_at_or_after(1_000_000_030_123), rule.after(1_000_000_080_000)
    (1000000080000, 1000000140000)
    >>> plan(rule, next_ms=None, from_ms=0, now=1_000_000_090_000, catchup="latest", grace_ms=1000)
    Plan(ticks=[1000000080000], new_next=1000000140000)

An ``every`` schedule ticks on a grid: ``start_at + k * every`` (``start_at`` unset: multiples of
``every`` since the epoch, so every pod computes the same ticks). A ``cron`` schedule ticks when
croniter says, in the schedule's timezone (daylight-saving jumps as croniter handles them).

Catchup, when a pass finds ticks due: a tick claimed more than ``grace`` after its time was
*missed* (the fleet's schedulers were down, or Redis was). ``all`` enqueues every due tick, missed
or not; ``latest`` the ticks on time and, if any were missed, the newest missed one (the missed
ticks run once, as one); ``none`` only the ticks on time. At most ``MAX_TICKS`` per pass:
``all`` after a long outage takes several passes.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidInputError

#: Ticks one scheduler pass enqueues for one schedule (one script call); the rest follow at once.
MAX_TICKS = 100


def check_timezone(name: str) -> dt.tzinfo:
    """The zoneinfo timezone called ``name``, or InvalidInputError naming it."""
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"timezone must be an IANA timezone name such as 'Europe/Paris', got {name!r}")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInputError(
            f"timezone {name!r} is not a known IANA timezone (e.g. 'UTC', 'Europe/Paris')"
        ) from None


def check_cron(expression: str, tz: dt.tzinfo) -> None:
    """InvalidInputError naming ``expression`` unless croniter parses it (5 fields, or 6 with seconds)."""
    from croniter import croniter

    if not isinstance(expression, str) or not expression.strip():
        raise InvalidInputError(f"cron must be a cron expression such as '0 * * * *', got {expression!r}")
    try:
        croniter(expression, dt.datetime.now(tz)).get_next(float)
    except (ValueError, KeyError, TypeError) as exc:  # croniter's errors are ValueErrors
        raise InvalidInputError(f"cron expression {expression!r} is not valid: {exc}") from None


@dataclass(frozen=True)
class TickRule:
    """The tick times of one schedule, in server milliseconds."""

    every_ms: int | None
    cron: str
    tz: Any
    anchor: int

    @classmethod
    def of(cls, *, every_ms: int | None, cron: str, tz: str, start_ms: int | None) -> TickRule:
        return cls(every_ms, cron, check_timezone(tz) if cron else dt.timezone.utc, start_ms or 0)

    def first_at_or_after(self, t: int) -> int:
        """The first tick at or after ``t``."""
        if self.every_ms:
            k = -((self.anchor - t) // self.every_ms)  # ceil((t - anchor) / every)
            return self.anchor + max(k, 0) * self.every_ms
        return self._cron_next(t - 1)

    def after(self, tick: int) -> int:
        """The first tick strictly after ``tick``."""
        if self.every_ms:
            return self.first_at_or_after(tick + 1)
        return self._cron_next(tick)

    def last_at_or_before(self, t: int, floor: int) -> int | None:
        """The newest tick at or before ``t`` that is not before ``floor`` (None: there is none)."""
        if self.every_ms:
            if t < self.anchor:
                return None
            tick = self.anchor + (t - self.anchor) // self.every_ms * self.every_ms
        else:
            from croniter import croniter

            tick = _ms(croniter(self.cron, _when(t + 1, self.tz)).get_prev(float))
        return tick if tick >= floor else None

    def _cron_next(self, t: int) -> int:
        from croniter import croniter

        return _ms(croniter(self.cron, _when(t, self.tz)).get_next(float))


def _when(ms: int, tz: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


@dataclass
class Plan:
    """What one pass claims for a schedule: ``ticks`` to enqueue, then ``new_next`` is its next tick."""

    ticks: list[int] = field(default_factory=list)
    new_next: int = 0


def plan(
    rule: TickRule,
    *,
    next_ms: int | None,
    from_ms: int,
    now: int,
    catchup: str,
    grace_ms: int,
    end_ms: int | None = None,
) -> Plan | None:
    """The claim a pass at server time ``now`` makes (None: nothing to claim yet).

    ``next_ms`` None: the schedule's next tick was not computed yet (just added or resumed); its
    first tick is then the first at or after ``from_ms``.
    """
    first = next_ms if next_ms is not None else rule.first_at_or_after(from_ms)
    if first > now or (end_ms is not None and first > end_ms):
        return Plan([], first) if next_ms is None else None
    if catchup == "all":
        return _run_from(rule, first, now, end_ms)
    cut = now - grace_ms  # a tick before this is missed
    claimed: list[int] = []
    start = first
    if first < cut:
        start = rule.first_at_or_after(cut)
        if catchup == "latest":
            newest = rule.last_at_or_before(cut - 1, first)
            assert newest is not None  # `first` itself was missed
            claimed.append(newest)
    on_time = _run_from(rule, start, now, end_ms)
    return Plan(claimed + on_time.ticks, on_time.new_next)


def _run_from(rule: TickRule, tick: int, now: int, end_ms: int | None) -> Plan:
    """Consecutive ticks from ``tick`` while due (and not past ``end_ms``), at most MAX_TICKS."""
    ticks: list[int] = []
    while tick <= now and len(ticks) < MAX_TICKS and (end_ms is None or tick <= end_ms):
        ticks.append(tick)
        tick = rule.after(tick)
    return Plan(ticks, tick)

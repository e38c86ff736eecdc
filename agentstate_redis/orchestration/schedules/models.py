"""The public shape of a schedule (pydantic v2), as ``list_schedules`` returns it.

    >>> [s.schedule_id for s in await orch.list_schedules("research_team")]
    ['hourly-report']
    >>> s.every, s.status, s.next_run_at, s.runs
    (3600.0, 'active', 1764684000.0, 12)

Times are seconds since the epoch by the Redis server's clock.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ...model import Model

Catchup = Literal["latest", "none", "all"]
CATCHUPS = ("latest", "none", "all")
ScheduleStatus = Literal["active", "paused", "done"]


class Schedule(Model):
    """A schedule of a team: every tick (``every`` seconds apart, or the times of a ``cron``
    expression in ``timezone``) enqueues one task made from ``task_template``, with the id
    ``f"{schedule_id}@{tick in ms}"``. ``status`` is ``done`` once ``end_at`` passed or ``limit``
    ticks ran; ``runs`` counts the ticks enqueued by this definition, ``last_run_at`` is the newest."""

    schedule_id: str = Field(min_length=1, max_length=1024)
    task_template: dict[str, Any] = Field(default_factory=dict)
    every: float | None = None
    cron: str | None = None
    timezone: str = "UTC"
    start_at: float | None = None
    end_at: float | None = None
    limit: int | None = None
    catchup: Catchup = "latest"
    misfire_grace: float = 1.0
    status: ScheduleStatus = "active"
    next_run_at: float | None = None
    last_run_at: float | None = None
    runs: int = 0
    version: int = 0
    created_at: float | None = None
    updated_at: float | None = None

"""Schedules of a team: a task template enqueued once per tick (``every`` seconds or a cron expression).

    >>> await orch.add_schedule("research_team", "hourly-report", {"type": "report"}, cron="0 * * * *")
    >>> await run_scheduler(orch, "research_team")        # or run_worker, which runs one too

``models``: the public Schedule; ``ticks``: tick times and catchup (pure); ``ops``: the manager's
methods over the orchestration/schedule_* scripts. The loop is agentstate_redis.worker.scheduler.
"""

from .models import CATCHUPS, Catchup, Schedule
from .ops import ScheduleOps

__all__ = ["CATCHUPS", "Catchup", "Schedule", "ScheduleOps"]

"""A reusable, long-running queue worker with graceful shutdown (for containers and pods).

>>> from agentstate_redis.worker import run_worker
>>> async def handle(task): return {"summary": await llm(task.data)}
>>> stats = await run_worker(orch, "research_team", "pod-7", handle, capabilities=["research"])
>>> await run_scheduler(orch, "research_team")      # the team's schedules alone (run_worker runs one too)
"""

from .runner import Worker, WorkerSettings, WorkerStats, run_worker
from .scheduler import SchedulerStats, run_scheduler
from .signals import stop_on_signals

__all__ = [
    "SchedulerStats",
    "Worker",
    "WorkerSettings",
    "WorkerStats",
    "run_scheduler",
    "run_worker",
    "stop_on_signals",
]

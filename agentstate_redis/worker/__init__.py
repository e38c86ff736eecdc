"""A reusable, long-running queue worker with graceful shutdown (for containers and pods).

    >>> from agentstate_redis.worker import run_worker
    >>> async def handle(task): return {"summary": await llm(task.data)}
    >>> stats = await run_worker(orch, "research_team", "pod-7", handle, capabilities=["research"])
"""

from .runner import WorkerStats, run_worker
from .signals import stop_on_signals

__all__ = ["WorkerStats", "run_worker", "stop_on_signals"]

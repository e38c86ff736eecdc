"""Scheduler processes for the schedule tests (each builds its own backend)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from agentstate_redis import OrchestrationStateManager, RedisBackend
from agentstate_redis.worker import run_scheduler


def scheduler_process(
    redis_url: str, prefix: str, team: str, seconds: float, until_done: str = "", retry_seconds: float = 10.0
) -> dict[str, Any]:
    """Run the team's scheduler for ``seconds`` (or until schedule ``until_done`` is done); its stats."""
    return asyncio.run(_run(redis_url, prefix, team, seconds, until_done, retry_seconds))


async def _run(
    redis_url: str, prefix: str, team: str, seconds: float, until_done: str, retry_seconds: float
) -> dict[str, Any]:
    backend = RedisBackend(redis_url, key_prefix=prefix, retry_seconds=retry_seconds)
    async with OrchestrationStateManager(backend=backend) as orch:
        stop = asyncio.Event()
        job = asyncio.ensure_future(run_scheduler(orch, team, stop=stop, install_signals=False))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not job.done():
            await asyncio.sleep(0.2)
            if until_done:
                with contextlib.suppress(Exception):  # the server may be restarting: ask again later
                    done = [s for s in await orch.list_schedules(team) if s.schedule_id == until_done]
                    if done and done[0].status == "done":
                        break
        stop.set()
        stats = await job
        return {"passes": stats.passes, "enqueued": stats.enqueued}

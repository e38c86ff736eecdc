"""Worker processes for the memory-pressure fleet test (each builds its own backend)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from agentstate_redis import OrchestrationStateManager, RedisBackend
from agentstate_redis.worker import run_worker


def fleet_worker(
    redis_url: str, prefix: str, team: str, agent_id: str, total: int, work: float, lease: float
) -> dict[str, Any]:
    """run_worker until the team has ``total`` completions; each task's work takes ``work`` seconds,
    longer than its ``lease``, so only heartbeats keep it. Returns the stats and the ids handled."""
    return asyncio.run(_fleet(redis_url, prefix, team, agent_id, total, work, lease))


async def _fleet(
    redis_url: str, prefix: str, team: str, agent_id: str, total: int, work: float, lease: float
) -> dict[str, Any]:
    backend = RedisBackend(redis_url, key_prefix=prefix)
    orch = OrchestrationStateManager(backend=backend, lease=lease, sync_interval=lease / 5)
    handled: list[str] = []
    stop = asyncio.Event()

    async def handle(task: Any) -> dict[str, str]:
        handled.append(task.id)
        await asyncio.sleep(work)
        return {"by": agent_id}

    async def until_done() -> None:
        while not stop.is_set():
            if (await orch.get_queue_status(team, page_size=0)).completed_total >= total:  # a read: runs when full
                stop.set()
            await asyncio.sleep(0.2)

    watcher = asyncio.ensure_future(until_done())
    try:
        stats = await run_worker(
            orch, team, agent_id, handle, lease=lease, stop=stop, install_signals=False, claim_wait=0.5, grace=30
        )
    finally:
        watcher.cancel()
        await backend.close()
    return {"stats": dataclasses.asdict(stats), "handled": handled}

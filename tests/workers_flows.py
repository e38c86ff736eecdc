"""Worker processes for the flow tests (each builds its own backend): claim, complete, report."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from agentstate_redis import OrchestrationStateManager, RedisBackend

from .queue_left import nothing_left


def flow_worker(redis_url: str, prefix: str, team: str, agent_id: str) -> list[dict[str, Any]]:
    """Claim and finish tasks until the team has nothing pending, running or waiting; return one
    record per claim: id, token, the server time of the claim, the dependency results it carried.

    A task whose data says ``die`` is dead-lettered at once (fail_task with retry=False).
    """
    return asyncio.run(_flow_worker(redis_url, prefix, team, agent_id))


async def _flow_worker(redis_url: str, prefix: str, team: str, agent_id: str) -> list[dict[str, Any]]:
    orch = OrchestrationStateManager(backend=RedisBackend(redis_url, key_prefix=prefix), completed_retention=10_000)
    records: list[dict[str, Any]] = []
    async with orch:
        while True:
            task = await orch.claim_task(team, agent_id, wait=0.3)
            if task is None:
                if await nothing_left(orch, team, ("pending", "in_progress", "waiting")):
                    return records
                continue
            records.append(
                {
                    "id": task.id,
                    "token": task.token,
                    "claimed_at": task.started_at,
                    "inputs": task.dependency_results,
                    "by": agent_id,
                }
            )
            await asyncio.sleep(random.uniform(0.0, 0.004))  # the "work"
            if (task.data or {}).get("die"):
                await orch.fail_task(team, task.id, "made to die", retry=False, token=task.token)
            else:
                await orch.complete_task(team, task.id, {"by": agent_id, "id": task.id}, token=task.token)

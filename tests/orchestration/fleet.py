"""A team for worker processes to work on, and waiting until they are up (the orchestration process tests).

orch = await fleet_team(redis_backend, TEAM, completed_retention=10_000)
with killed_at_end(start_workers(redis_url, prefix, 4)) as procs:
    await workers_up(orch, TEAM, 4)
    await join_processes(procs)
"""

from __future__ import annotations

from typing import Any

from agentstate_redis import OrchestrationStateManager
from agentstate_redis.backends.base import Backend

from ..waiting import eventually


async def fleet_team(backend: Backend, team: str, **options: Any) -> OrchestrationStateManager:
    """A manager on ``backend`` (built with ``options``) with ``team`` created."""
    orch = OrchestrationStateManager(backend=backend, **options)
    await orch.create_team(team)
    return orch


async def workers_up(orch: OrchestrationStateManager, team: str, n: int, timeout: float = 30.0) -> None:
    """Wait until ``n`` agents of ``team`` have registered (each worker's first call)."""

    async def up() -> bool:
        return len(await orch.get_agents(team)) >= n

    await eventually(up, timeout, what=f"{n} workers to start", interval=0.05)

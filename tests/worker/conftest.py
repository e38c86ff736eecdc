"""The worker tests' fixtures."""

from __future__ import annotations

import pytest

from agentstate_redis import OrchestrationStateManager
from agentstate_redis.backends.redis import RedisBackend


@pytest.fixture
async def orch(redis_backend: RedisBackend, request: pytest.FixtureRequest) -> OrchestrationStateManager:
    """A manager on the session Redis with short heartbeats and leases (or the test module's
    ``ORCH_OPTIONS``), the module's ``TEAM`` created."""
    m = OrchestrationStateManager(
        backend=redis_backend, **getattr(request.module, "ORCH_OPTIONS", {"sync_interval": 0.2, "lease": 5})
    )
    await m.create_team(request.module.TEAM)
    return m

"""The orchestration tests' fixtures."""

from __future__ import annotations

import pytest

from agentstate_redis import OrchestrationStateManager
from agentstate_redis.backends.base import Backend


@pytest.fixture
async def orch(backend: Backend, request: pytest.FixtureRequest) -> OrchestrationStateManager:
    """A manager on each backend (memory, file, redis) with the test module's ``TEAM`` created and
    its ``ORCH_OPTIONS`` (a dict of manager settings, if the module has one)."""
    m = OrchestrationStateManager(backend=backend, **getattr(request.module, "ORCH_OPTIONS", {}))
    await m.create_team(request.module.TEAM)
    return m

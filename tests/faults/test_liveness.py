"""Silent connections: a command connection whose peer stops answering is replaced within the liveness timeout.

A black hole (the proxy reads and drops every byte, closes nothing, keeps acknowledging
at the TCP level) is what defeats TCP keepalive; the reply timeout catches it. Blocking
waits must not be mistaken for silence.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time

import pytest

from agentstate_redis import (
    BackendUnavailableError,
    InvalidInputError,
    OrchestrationStateManager,
    OutcomeUnknownError,
    RedisBackend,
    StateConfig,
    StateManager,
)
from agentstate_redis.config import make_backend

from ..fault_proxy import FaultProxy
from .proxied import state_through

LIVENESS = 1.5


def _local_port(conn: object) -> int:
    return conn._writer.get_extra_info("sockname")[1]  # type: ignore[attr-defined]


async def test_a_command_on_a_black_holed_connection_moves_to_a_fresh_one_within_the_liveness_timeout(
    proxy: FaultProxy, redis_url: str, prefix: str
) -> None:
    """An update sent into a black hole that lifts after 0.5 s: the held connection (lone calls)
    never answers again, so the call must give it up after ``liveness_timeout`` and finish on a
    new connection, once. Before, the only bound was a fixed 10 s socket timeout."""
    async with state_through(proxy, prefix, liveness_timeout=LIVENESS) as state:
        backend = state.backend
        await state.save("k", {"n": 0})
        held = backend._runner.sender._held  # type: ignore[union-attr]
        assert held is not None and held.is_connected
        port_before = _local_port(held)
        proxy.blackhole()
        started = time.monotonic()
        call = asyncio.ensure_future(state.update("k", {"n": 1}))
        await asyncio.sleep(0.5)
        proxy.heal()
        assert await asyncio.wait_for(call, 30) == 2
        elapsed = time.monotonic() - started
        assert elapsed < LIVENESS + 5.0, f"the silent connection was kept {elapsed:.1f}s"
        assert held.is_connected and _local_port(held) != port_before, "the held connection was not replaced"
        assert await state.get_version("k") == 2
        assert await state.get("k") == {"n": 1}


async def test_a_silent_connection_without_retries_fails_typed_within_the_liveness_timeout(
    proxy: FaultProxy, prefix: str
) -> None:
    """``retry_seconds=0`` and a black hole: a write on the open connection raises
    OutcomeUnknownError (it may have reached the server); calls whose new connection never
    completes its handshake raise BackendUnavailableError (nothing was sent); each within the
    liveness timeout, never redis-py's own TimeoutError. After the heal the next calls work."""
    async with state_through(proxy, prefix, liveness_timeout=LIVENESS, retry_seconds=0) as state:
        await state.save("k", {"n": 0})
        proxy.blackhole()
        started = time.monotonic()
        with pytest.raises(OutcomeUnknownError):
            await state.update("k", {"n": 1})  # sent on the open connection: it may have applied
        with pytest.raises(BackendUnavailableError):
            await state.get("k")  # a fresh connection: its handshake goes unanswered
        with pytest.raises(BackendUnavailableError):
            await state.update("k", {"n": 1})  # likewise: nothing of it was sent
        assert time.monotonic() - started < 3 * LIVENESS + 5.0
        proxy.heal()
        assert await state.get("k") == {"n": 0}  # the black hole dropped the update's bytes
        assert await state.update("k", {"n": 2}) == 2


async def test_a_blocking_claim_longer_than_the_liveness_timeout_is_not_cut(
    proxy: FaultProxy, redis_url: str, prefix: str
) -> None:
    """``claim_task(wait=...)`` blocks on BLPOP; a wait longer than the liveness timeout is cut
    into shorter blocks, so no connection is dropped as silent while it waits (before, a read
    timeout as short as the BLPOP killed the connection on every wait), and the task enqueued
    meanwhile is claimed."""
    liveness = 2.0
    waiter = RedisBackend(proxy.url, key_prefix=prefix, liveness_timeout=liveness)
    feeder = RedisBackend(redis_url, key_prefix=prefix)
    orch = OrchestrationStateManager(backend=waiter)
    feed = OrchestrationStateManager(backend=feeder)
    try:
        await orch.create_team("t")
        await orch.claim_task("t", "w", wait=0.1)  # opens the connections the wait uses
        connections = proxy.stats.connections
        claim = asyncio.ensure_future(orch.claim_task("t", "w", wait=3 * liveness))
        await asyncio.sleep(2 * liveness)
        assert not claim.done()
        await feed.enqueue_task("t", {"id": "late"})
        task = await asyncio.wait_for(claim, 30)
        assert task is not None and task.id == "late"
        assert proxy.stats.connections == connections, "a blocking wait was taken for a silent connection"
        assert proxy.stats.resets == 0
    finally:
        await waiter.close()
        await feeder.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP_USER_TIMEOUT and TCP_KEEPIDLE are Linux's")
async def test_connections_carry_keepalive_and_user_timeout_from_the_liveness_timeout(
    redis_url: str, prefix: str
) -> None:
    """A peer that vanishes (host gone, NAT entry dropped: nothing acknowledges any more) is
    found by TCP itself within about the liveness timeout, even on an idle connection."""
    backend = await RedisBackend(redis_url, key_prefix=prefix, liveness_timeout=4.0).connect()
    try:
        await StateManager(backend=backend).save("k", {"n": 0})
        held = backend._runner.sender._held  # type: ignore[union-attr]
        sock = held._writer.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 2
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 4000
        assert held.socket_timeout == 4.0
    finally:
        await backend.close()


def test_liveness_timeout_is_one_setting_from_the_config_to_the_backend() -> None:
    backend = make_backend(StateConfig(backend="redis", redis_url="redis://127.0.0.1:1/0", liveness_timeout=3))
    assert isinstance(backend, RedisBackend) and backend.liveness_timeout == 3 == backend.socket_timeout
    assert make_backend(StateConfig()).liveness_timeout == 10.0
    with pytest.raises(InvalidInputError, match="liveness_timeout"):
        StateConfig(liveness_timeout=0)
    with pytest.raises(InvalidInputError, match="liveness_timeout"):
        RedisBackend("redis://127.0.0.1:1/0", liveness_timeout=float("nan"))

"""The client's hot path: commands packed by hiredis, written without a timer task, lone script calls on a
held connection."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
import redis.asyncio as aioredis
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agentstate_redis import BackendUnavailableError, RedisBackend, StateManager
from agentstate_redis.autopipeline import AutoPipeline
from agentstate_redis.backends.redis_connection_packing import _HiredisPacking, hiredis_packing
from agentstate_redis.backends.redis_connection_write import _DirectWrite, direct_write
from agentstate_redis.embedded import EmbeddedRedis

ARG = st.one_of(st.text(), st.binary(), st.integers(-(2**63), 2**63), st.floats(allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["EVALSHA", "HSET", "SCRIPT LOAD", "CONFIG GET"]), st.lists(ARG, max_size=20))
def test_hiredis_packing_sends_the_same_bytes_as_redis_py(command: str, args: list[object]) -> None:
    ours, theirs = hiredis_packing(Connection)(), Connection()
    assert b"".join(ours.pack_command(command, *args)) == b"".join(theirs.pack_command(command, *args))
    batch = [(command, *args), ("PING",)]
    assert b"".join(ours.pack_commands(batch)) == b"".join(theirs.pack_commands(batch))


def test_hiredis_packing_refuses_what_redis_py_refuses() -> None:
    conn = hiredis_packing(Connection)()
    for bad in (None, object()):
        with pytest.raises(DataError):
            conn.pack_command("SET", "k", bad)
    assert b"".join(conn.pack_command("SET", "k", memoryview(b"v"))) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"


def test_hiredis_packing_keeps_the_connection_kind() -> None:
    unix = hiredis_packing(UnixDomainSocketConnection)
    assert issubclass(unix, UnixDomainSocketConnection) and issubclass(unix, _HiredisPacking)
    assert hiredis_packing(unix) is unix


async def test_the_backend_pool_packs_with_hiredis_and_round_trips_any_text(redis_backend: RedisBackend) -> None:
    assert issubclass(redis_backend.client.connection_pool.connection_class, _HiredisPacking)
    state = StateManager(backend=redis_backend)
    value = {"é✓": "\x00 binary-ish \uffff", "n": 2**53 - 1, "f": 0.1, "nested": {"a": [1, None, True]}}
    await state.save("unicode", value)
    assert await state.get("unicode") == value


SLOW_SCRIPT = (
    "local t = redis.call('TIME'); local s = t[1] * 1e6 + t[2]; "
    "repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - s > 150000; return 'slow'"
)


async def test_a_lone_call_cancelled_mid_flight_does_not_hand_its_reply_to_the_next(
    redis_backend: RedisBackend,
) -> None:
    """The held connection is dropped when a call is abandoned: its late reply must not answer the next call."""
    sender = redis_backend._runner.sender  # type: ignore[union-attr]
    assert isinstance(sender, AutoPipeline)
    slow = await redis_backend.client.script_load(SLOW_SCRIPT)
    fast = await redis_backend.client.script_load("return ARGV[1]")
    call = asyncio.ensure_future(sender.evalsha(slow, 0))
    await asyncio.sleep(0.03)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    replies = [await sender.evalsha(fast, 0, f"reply-{i}") for i in range(3)]
    assert replies == ["reply-0", "reply-1", "reply-2"]


async def test_a_lone_call_rides_out_its_connection_being_killed(redis_backend: RedisBackend, redis_url: str) -> None:
    state = StateManager(backend=redis_backend)
    await state.save("k", {"v": 1})
    admin = aioredis.Redis.from_url(redis_url)
    try:
        assert await admin.client_kill_filter(_type="normal", skipme=True) >= 1
    finally:
        await admin.aclose()
    assert await state.update("k", {"v": 2}) == 2  # the runner's retry resends on a fresh connection
    assert await state.get("k") == {"v": 2}


async def test_closing_the_backend_closes_its_sockets(redis_url: str, prefix: str) -> None:
    admin = aioredis.Redis.from_url(redis_url)
    name = f"closing-{prefix}"

    async def ours() -> int:
        return sum(1 for c in await admin.client_list() if c.get("name") == name)

    try:
        url = redis_url + ("&" if "?" in redis_url else "?") + f"client_name={name}"
        backend = RedisBackend(url, key_prefix=prefix)
        state = StateManager(backend=backend)
        await asyncio.gather(*(state.save(f"k{i}", {"i": i}) for i in range(50)))  # a held and pooled connections
        assert await ours() >= 2
        await backend.close()
        await asyncio.sleep(0.05)
        assert await ours() == 0
    finally:
        await admin.aclose()


def test_hiredis_packing_defers_to_redis_py_for_other_types_and_encodings() -> None:
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    ours, theirs = hiredis_packing(Connection)(), Connection()
    assert ours.pack_command("SET", "k", Level.HIGH) == theirs.pack_command("SET", "k", Level.HIGH)
    latin_ours = hiredis_packing(Connection)(encoding="latin-1")
    latin_theirs = Connection(encoding="latin-1")
    assert b"".join(latin_ours.pack_command("SET", "k", "é")) == b"".join(latin_theirs.pack_command("SET", "k", "é"))


async def test_a_small_pool_does_not_hold_a_connection(redis_url: str, prefix: str) -> None:
    backend = await RedisBackend(redis_url, key_prefix=prefix, connection_pool_size=1).connect()
    try:
        state = StateManager(backend=backend)
        await backend.client.script_flush()  # the NOSCRIPT fallback needs a connection too
        assert await state.save("k", {"v": 1}) == 1
        assert await asyncio.gather(*(state.update("k", {"v": i}) for i in range(20))) is not None
        assert backend._runner.sender._held is None  # type: ignore[union-attr]
    finally:
        await backend.close()


async def test_a_call_after_close_is_refused_and_reopens_nothing(redis_url: str, prefix: str) -> None:
    backend = await RedisBackend(redis_url, key_prefix=prefix).connect()
    sender = backend._runner.sender  # type: ignore[union-attr]
    state = StateManager(backend=backend)
    await state.save("k", {"v": 1})
    await sender.close()
    with pytest.raises(BackendUnavailableError):
        await sender.evalsha("0" * 40, 0)
    assert sender._held is None
    await backend.close()


async def test_a_small_write_skips_redis_pys_timer_task(
    redis_backend: RedisBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a socket_timeout redis-py wraps each write in asyncio.wait_for (a task per command before 3.12)."""
    assert issubclass(redis_backend.client.connection_pool.connection_class, _DirectWrite)
    state = StateManager(backend=redis_backend)
    await state.save("k", {"v": 0})

    def no_wait_for(*args: object, **kwargs: object) -> None:
        raise AssertionError("a small write went through asyncio.wait_for")

    monkeypatch.setattr("redis.asyncio.connection.asyncio.wait_for", no_wait_for)
    assert await state.save("k", {"v": 1}) == 2
    assert await state.update("k", {"w": 2}) == 3


async def test_a_write_to_a_frozen_server_still_times_out() -> None:
    """Past the transport's high-water mark the write waits, bounded by socket_timeout as in redis-py."""
    with EmbeddedRedis() as server:
        conn = direct_write(Connection)(host="127.0.0.1", port=server.port, socket_timeout=0.3)
        await conn.connect()
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGSTOP)  # it reads nothing: the kernel buffers fill up

        async def write_until_it_fails() -> None:
            for _ in range(8):
                await conn.send_command("SET", "k", "x" * (4 << 20))

        try:
            with pytest.raises(RedisTimeoutError):
                await asyncio.wait_for(write_until_it_fails(), 5)  # an unbounded wait fails here, not hangs
            assert not conn.is_connected
        finally:
            os.kill(server.process.pid, signal.SIGCONT)


async def test_a_small_write_on_a_killed_connection_raises_connection_error() -> None:
    with EmbeddedRedis() as server:
        conn = direct_write(Connection)(host="127.0.0.1", port=server.port, socket_timeout=1)
        await conn.connect()
        admin = aioredis.Redis(port=server.port)
        try:
            assert await admin.client_kill_filter(_type="normal", skipme=True) == 1
        finally:
            await admin.aclose()
        with pytest.raises(RedisConnectionError):
            for _ in range(50):  # the first write after the peer's close may still be accepted
                await conn.send_command("PING", check_health=False)
                await asyncio.sleep(0.01)
        assert not conn.is_connected

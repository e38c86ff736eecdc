"""Automatic pipelining of concurrent script calls: same replies and errors as sending alone."""

from __future__ import annotations

import asyncio

import pytest

from agentstate_redis import RedisBackend, StateManager, VersionConflictError
from agentstate_redis.autopipeline import AutoPipeline


async def test_concurrent_calls_share_round_trips_and_each_gets_its_own_reply(redis_url: str, prefix: str) -> None:
    backend = RedisBackend(redis_url, key_prefix=prefix)
    state = StateManager(backend=backend)
    await state.save("shared", {"n": 0})
    sent = []
    await backend.connect()
    sender = backend._runner.sender  # type: ignore[union-attr]
    assert isinstance(sender, AutoPipeline)
    original = sender._send

    async def counting(batch):  # type: ignore[no-untyped-def]
        sent.append(len(batch))
        await original(batch)

    sender._send = counting  # type: ignore[method-assign]
    results = await asyncio.gather(
        *(state.save(f"k{i}", {"i": i}) for i in range(200)),
        *(state.save("shared", {"n": 1}, expected_version=1) for _ in range(20)),
        return_exceptions=True,
    )
    saves, conditional = results[:200], results[200:]
    assert saves == [1] * 200
    assert sum(1 for r in conditional if r == 2) == 1  # exactly one conditional write wins ...
    assert all(isinstance(r, VersionConflictError) for r in conditional if r != 2)  # ... the rest get their own error
    assert [await state.get(f"k{i}") for i in range(0, 200, 50)] == [{"i": i} for i in range(0, 200, 50)]
    assert sent and max(sent) > 1, "concurrent calls never shared a pipeline"
    await backend.close()


async def test_a_lone_call_is_sent_at_once(redis_url: str, prefix: str) -> None:
    backend = await RedisBackend(redis_url, key_prefix=prefix).connect()
    sender = backend._runner.sender  # type: ignore[union-attr]
    sender._send = None  # a lone call must not go through the batch path at all
    state = StateManager(backend=backend)
    assert await state.save("alone", {"a": 1}) == 1
    assert await state.get("alone") == {"a": 1}
    await backend.close()


async def test_noscript_inside_a_batch_falls_back_per_call(redis_url: str, prefix: str) -> None:
    backend = await RedisBackend(redis_url, key_prefix=prefix).connect()
    state = StateManager(backend=backend)
    await backend.client.script_flush()
    assert await asyncio.gather(*(state.save(f"n{i}", {"i": i}) for i in range(50))) == [1] * 50
    await backend.close()


async def test_a_reply_lost_after_the_server_applied_a_batch_is_retried_once(redis_url: str, prefix: str) -> None:
    """The worst case for a pipeline: every script in it ran, then the connection dropped before
    the replies arrived. Each caller retries on its own; op-id replay makes each apply once."""
    import redis

    backend = await RedisBackend(redis_url, key_prefix=prefix).connect()
    state = StateManager(backend=backend)
    real_pipeline = backend.client.pipeline
    dropped = []

    def pipeline(*args, **kwargs):  # type: ignore[no-untyped-def]
        pipe = real_pipeline(*args, **kwargs)
        real_execute = pipe.execute

        async def execute(*a, **k):  # type: ignore[no-untyped-def]
            result = await real_execute(*a, **k)
            if not dropped:
                dropped.append(len(result))
                raise redis.ConnectionError("connection lost before the replies were read")
            return result

        pipe.execute = execute
        return pipe

    backend.client.pipeline = pipeline
    results = await asyncio.gather(
        *(state.update(f"u{i}", {"i": i}, upsert=True) for i in range(300)), return_exceptions=True
    )
    assert dropped and dropped[0] > 1, "no batch was lost; the test proved nothing"
    assert results == [1] * 300
    assert {await state.get_version(f"u{i}") for i in range(300)} == {1}
    await backend.close()


@pytest.mark.parametrize("in_flight", [1, 4])
async def test_max_in_flight_bounds_connections(redis_url: str, prefix: str, in_flight: int) -> None:
    backend = await RedisBackend(redis_url, key_prefix=prefix).connect()
    sender = backend._runner.sender  # type: ignore[union-attr]
    sender.max_in_flight = in_flight
    peak = 0
    original = sender._send

    async def watch(batch):  # type: ignore[no-untyped-def]
        nonlocal peak
        peak = max(peak, sender._in_flight)
        await original(batch)

    sender._send = watch  # type: ignore[method-assign]
    state = StateManager(backend=backend)
    await asyncio.gather(*(state.save(f"m{i}", {}) for i in range(300)))
    assert 1 <= peak <= in_flight
    await backend.close()

"""Guarantees of the core state across real OS processes on a real Redis."""

from __future__ import annotations

import asyncio

from agentstate_redis import RedisBackend, StateManager

from .. import workers_state
from ..procs import _ctx, run_processes
from ..waiting import eventually

WORKERS = 8
TIMES = 500


async def test_concurrent_field_updates_lose_nothing(redis_url: str, prefix: str) -> None:
    """8 processes x 500 updates, each to its own field of one key: every field ends at 500."""
    run_processes(
        workers_state.update_own_field,
        [(redis_url, prefix, "shared", f"w{i}", TIMES) for i in range(WORKERS)],
    )
    state = StateManager(backend=RedisBackend(redis_url, key_prefix=prefix))
    entry = await state.get_entry("shared")
    await state.close()
    assert entry is not None
    assert entry.value == {f"w{i}": TIMES for i in range(WORKERS)}
    assert entry.version == WORKERS * TIMES


async def test_optimistic_increments_are_exact(redis_url: str, prefix: str) -> None:
    """8 processes x 500 get + save(expected_version) with retry: the count is exactly 4000."""
    conflicts = run_processes(
        workers_state.increment_with_versions, [(redis_url, prefix, "counter", TIMES) for _ in range(WORKERS)]
    )
    state = StateManager(backend=RedisBackend(redis_url, key_prefix=prefix))
    assert await state.get("counter") == {"count": WORKERS * TIMES}
    await state.close()
    assert sum(conflicts) > 0, "the processes never raced; the test proved nothing"


async def test_another_process_sees_every_change_in_order(redis_url: str, prefix: str) -> None:
    ready, out = _ctx.Event(), _ctx.Queue()
    proc = _ctx.Process(
        target=workers_state.collect_events, args=(redis_url, prefix, "agent:*", ready, out, "agent:stop")
    )
    proc.start()
    try:
        assert await asyncio.to_thread(ready.wait, 30), "subscriber did not start"
        state = StateManager(backend=RedisBackend(redis_url, key_prefix=prefix))
        expected = []
        for i in range(50):
            key = f"agent:{i % 3}"
            old = await state.get(key)
            await state.update(key, {"step": i}, upsert=True)
            expected.append((key, old, await state.get(key)))
        await state.save("unwatched:x", {"a": 1})
        await state.delete("agent:0")
        expected.append(("agent:0", {"step": 48}, None))
        await state.save("agent:ttl", {"short": True}, ttl=0.3)
        expected.append(("agent:ttl", None, {"short": True}))
        expected.append(("agent:ttl", None, None))  # the expiry, via keyspace notifications
        # reading an expired key expires it at once (and notifies), so the expiry lands before the stop
        # event however late the server's active expiry cycle runs on a loaded machine
        await asyncio.sleep(0.35)

        async def expired() -> bool:
            return await state.get_version("agent:ttl") == 0

        await eventually(expired, what="agent:ttl to expire")
        await state.save("agent:stop", {})
        expected.append(("agent:stop", None, {}))
        got = [await asyncio.to_thread(out.get, True, 30) for _ in expected]
        await state.close()
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
    assert got == expected

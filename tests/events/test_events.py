"""The event hub: glob matching, readiness, and recovery after the connection or the server goes away."""

from __future__ import annotations

import pytest

from agentstate_redis import EmbeddedRedis, RedisBackend, StateManager
from agentstate_redis.patterns import IdGlob

from ..waiting import eventually


@pytest.mark.parametrize(
    "pattern, matches, misses",
    [
        ("agent:*", ["agent:", "agent:a:b"], ["agents", "team:agent:"]),
        ("a?c", ["abc", "a-c"], ["ac", "abbc"]),
        ("[ab]x", ["ax", "bx"], ["cx"]),
        ("[^a]x", ["bx"], ["ax"]),
        ("lit\\*", ["lit*"], ["litx"]),
        ("{braces}", ["{braces}"], ["braces"]),
    ],
)
def test_glob_matches_like_redis(pattern: str, matches: list[str], misses: list[str]) -> None:
    glob = IdGlob(pattern)
    assert all(glob.match(m) for m in matches)
    assert not any(glob.match(m) for m in misses)


async def test_listener_reconnects_after_its_connection_is_killed(prefix: str) -> None:
    with EmbeddedRedis() as server:
        state = StateManager(backend=RedisBackend(server.url, key_prefix=prefix))
        seen: list[str] = []
        reconnects: list[int] = []
        state.backend.events.on_reconnect(lambda: reconnects.append(1))
        await state.subscribe("*", lambda key, old, new: seen.append(key))
        await state.save("before", {})
        await eventually(lambda: seen == ["before"])
        await state.backend.client.client_kill_filter(_type="pubsub")
        await eventually(lambda: reconnects, timeout=15)
        await state.save("after", {})
        await eventually(lambda: seen == ["before", "after"])
        await state.backend.close()


async def test_restarted_server_reloads_scripts_and_resubscribes(prefix: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = EmbeddedRedis(data_dir=tmp_path, appendonly=True, appendfsync="always").start()
    try:
        state = StateManager(backend=RedisBackend(server.url, key_prefix=prefix))
        seen: list[str] = []
        reconnects: list[int] = []
        state.backend.events.on_reconnect(lambda: reconnects.append(1))
        await state.subscribe("*", lambda key, old, new: seen.append(key))
        await state.save("a", {"n": 1})
        await eventually(lambda: seen == ["a"])
        server.stop()
        server.start()  # same port, AOF replayed, script cache empty
        assert await state.update("a", {"n": 2}) == 2  # reconnects (tenacity), NOSCRIPT -> EVAL
        assert await state.get("a") == {"n": 2}
        await eventually(lambda: reconnects, timeout=15)
        await state.update("a", {"n": 3})
        await eventually(lambda: seen[-1:] == ["a"] and len(seen) >= 2 and seen.count("a") >= 2, timeout=15)
        await state.backend.close()
    finally:
        server.cleanup()

"""The event hub under production conditions: silent connections, and subscribers Redis drops.

Issue 17 §3 and §5: a pub/sub connection that goes silent, or that Redis closes at its
output-buffer limit, must be replaced within a bound, reported to every subscription as a gap,
and followed by events again.
"""

from __future__ import annotations

from typing import Any

from agentstate_redis import EmbeddedRedis, RedisBackend, StateManager
from agentstate_redis.events import OmittedValue
from agentstate_redis.subscription import Gap

from ..fault_proxy import FaultProxy
from ..waiting import eventually

LIVENESS = 2.0  # seconds; the default is 10


async def test_a_silent_pubsub_connection_is_replaced_and_events_flow_again(redis_url: str, prefix: str) -> None:
    """The subscriber's connection goes silent for good (a black hole: no data, no close) while the
    publisher keeps writing. Before, the hub's ``get_message(timeout=1.0)`` returned None forever: no
    hook ran, nothing arrived, and a new subscribe() got nothing either. Now the hub's PINGs go
    unanswered, it replaces the connection within the liveness timeout, reports an "unresponsive" gap,
    runs the on_reconnect hooks, and old and new subscriptions receive events again."""
    with FaultProxy.for_url(redis_url) as proxy:
        backend = RedisBackend(proxy.url, key_prefix=prefix)
        backend.liveness_timeout = LIVENESS  # type: ignore[attr-defined]  # the setting the hub reads
        subscriber = StateManager(backend=backend)
        publisher = StateManager(backend=RedisBackend(redis_url, key_prefix=prefix))
        seen: list[str] = []
        gaps: list[Gap] = []
        hooks: list[int] = []
        backend.events.on_reconnect(lambda: hooks.append(1))
        await subscriber.subscribe("k:*", lambda key, old, new: seen.append(key), on_gap=gaps.append)
        await publisher.save("k:before", {})
        await eventually(lambda: seen == ["k:before"], what="the first event")

        assert proxy.silence_open() >= 1
        for i in range(5):
            await publisher.save(f"k:lost{i}", {"i": i})  # published into the black hole
        await eventually(lambda: hooks and gaps, timeout=10 * LIVENESS, what="the hooks and a gap")
        assert gaps[0].reason == "unresponsive" and gaps[0].missed is None
        assert gaps[0].since <= gaps[0].until

        later: list[str] = []
        await subscriber.subscribe("k:*", lambda key, old, new: later.append(key))
        await publisher.save("k:after", {})
        await eventually(
            lambda: seen[-1] == "k:after" and later == ["k:after"],
            timeout=10,
            what="events after the reconnect, on the old and a new subscription",
        )
        await publisher.backend.close()
        await backend.close()


async def test_a_reset_pubsub_connection_is_reported_as_a_gap(redis_url: str, prefix: str) -> None:
    """A connection reset (RST) under the subscriber: however the client reconnects (redis-py retries
    a read on its own, or the hub opens a new connection), the subscription is told with a
    "reconnect" gap and events flow again; before, such a reconnect inside redis-py ran no hook."""
    with FaultProxy.for_url(redis_url) as proxy:
        backend = RedisBackend(proxy.url, key_prefix=prefix)
        subscriber = StateManager(backend=backend)
        publisher = StateManager(backend=RedisBackend(redis_url, key_prefix=prefix))
        seen: list[str] = []
        gaps: list[Gap] = []
        await subscriber.subscribe("*", lambda key, old, new: seen.append(key), on_gap=gaps.append)
        await publisher.save("before", {})
        await eventually(lambda: seen == ["before"])
        assert proxy.reset_all() >= 1
        await eventually(lambda: gaps, timeout=20, what="a gap after the reset")
        assert gaps[0].reason == "reconnect"
        await publisher.save("after", {})
        await eventually(lambda: seen[-1:] == ["after"], timeout=10)
        await publisher.backend.close()
        await backend.close()


def _small_pubsub_buffers() -> EmbeddedRedis:
    """A server that drops a subscriber holding more than 256 kB of unread output at once."""
    return EmbeddedRedis(extra_args=["--client-output-buffer-limit", "pubsub", "256kb", "128kb", "60"])


async def test_a_subscriber_dropped_at_the_output_buffer_limit_reconnects_and_reports_a_gap(prefix: str) -> None:
    """Redis closes a subscriber whose output buffer passes its pub/sub limit (256 kB here). The
    subscriber's replies stall (a paused process: nothing read) while events of 2 MiB are published
    (events not bounded: max_event_bytes 4 MiB) until the server has closed it; then the
    subscriber reads again. The hub reconnects, reports a "reconnect" gap to the subscription
    (before: nothing told it, and redis-py's own reconnect ran no hook), runs its hooks, and later
    events arrive. A stall rather than one big event: Valkey 9 writes a big reply straight out
    instead of holding it against the limit, so only a client that reads nothing is dropped there."""
    with _small_pubsub_buffers() as server, FaultProxy.for_url(server.url) as proxy:
        unbounded = 4 * 1024 * 1024
        subscriber = StateManager(backend=RedisBackend(proxy.url, key_prefix=prefix, max_event_bytes=unbounded))
        publisher = StateManager(backend=RedisBackend(server.url, key_prefix=prefix, max_event_bytes=unbounded))
        seen: list[str] = []
        gaps: list[Gap] = []
        hooks: list[int] = []
        subscriber.backend.events.on_reconnect(lambda: hooks.append(1))
        await subscriber.subscribe("*", lambda key, old, new: seen.append(key), on_gap=gaps.append)
        await publisher.save("first", {"n": 0})
        await eventually(lambda: seen == ["first"], what="the first event")

        raw = publisher.backend.client  # type: ignore[attr-defined]  # the backend's redis-py client
        proxy.stall_replies()
        for i in range(64):
            await publisher.save("big", {"v": str(i % 10) * (1024 * 1024)})  # old + new: a 2 MiB event
            if not await raw.client_list(_type="pubsub"):
                break  # the server closed the subscriber's connection
        else:
            raise AssertionError("the server never dropped the stalled subscriber")
        proxy.heal()
        await eventually(lambda: gaps and hooks, timeout=20, what="the gap and the hooks")
        assert gaps[0].reason == "reconnect"
        await publisher.save("small", {"n": 1})
        await eventually(lambda: seen[-1:] == ["small"], timeout=10)
        await publisher.backend.close()
        await subscriber.backend.close()


async def test_big_writes_send_small_events_that_arrive_and_say_how_to_read_the_value(prefix: str) -> None:
    """The same 256 kB pub/sub limit, events bounded by the default max_event_bytes (64 KiB): six
    saves of a 1 MiB value and one small save reach the subscriber, all seven, with no gap. Before,
    every event carried old and new values and the subscriber was dropped (the finding: six 16 MiB
    saves gave 0 of 7 events). A big value arrives as an OmittedValue with its size; get() reads it;
    a small value arrives whole, exactly as before."""
    with _small_pubsub_buffers() as server:
        subscriber = StateManager(backend=RedisBackend(server.url, key_prefix=prefix))
        publisher = StateManager(backend=RedisBackend(server.url, key_prefix=prefix))
        seen: list[tuple[str, Any, Any]] = []
        gaps: list[Gap] = []
        await subscriber.subscribe("*", lambda key, old, new: seen.append((key, old, new)), on_gap=gaps.append)
        big = "z" * (1024 * 1024)
        for i in range(6):
            await publisher.save("big", {"v": big, "i": i})
        await publisher.save("small", {"n": 1})
        await eventually(lambda: len(seen) == 7, timeout=20, what="all seven events")
        assert gaps == []
        for key, _old, new in seen[:6]:
            assert key == "big" and isinstance(new, OmittedValue) and new.size > len(big)
        assert seen[0][1] is None  # the first save had no old value: None, not a marker
        assert all(isinstance(old, OmittedValue) for _, old, _ in seen[1:6])
        assert seen[6] == ("small", None, {"n": 1})
        assert (await subscriber.get("big")) == {"v": big, "i": 5}
        await publisher.backend.close()
        await subscriber.backend.close()

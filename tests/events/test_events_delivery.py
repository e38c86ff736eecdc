"""Per-subscription delivery: a slow callback delays only itself; an overflow is a reported gap.

Issue 17 §5: callbacks used to run one at a time in the hub's reader task, so one async callback
awaiting 5 s delayed every other subscription of the backend by 5 s.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentstate_redis import (
    InvalidInputError,
    KnowledgeStateManager,
    MemoryBackend,
    SpeechStateManager,
    StateManager,
    WorkflowStateManager,
)
from agentstate_redis.knowledge import SourceState
from agentstate_redis.subscription import Gap
from agentstate_redis.workflows import WorkflowState

from ..waiting import eventually


async def test_a_slow_callback_delays_only_its_own_subscription(state: StateManager) -> None:
    """An async callback blocked on an event that is set only at the end, subscribed first: the other
    subscription still gets every change at once, and the slow one gets them all, in order, once it
    is released. Before, the blocked callback held the hub's reader, and nobody got anything."""
    release = asyncio.Event()
    slow_seen: list[str] = []
    fast_seen: list[str] = []

    async def slow(key: str, old: Any, new: Any) -> None:
        await release.wait()
        slow_seen.append(key)

    await state.subscribe("k*", slow)
    await state.subscribe("k*", lambda key, old, new: fast_seen.append(key))
    for i in range(5):
        await state.save(f"k{i}", {"i": i})
    expected = [f"k{i}" for i in range(5)]
    await eventually(lambda: fast_seen == expected, what="the fast subscription's events")
    assert slow_seen == []
    release.set()
    await eventually(lambda: slow_seen == expected, what="the slow subscription's events, in order")


async def test_a_sync_and_an_async_callback_each_keep_their_order(state: StateManager) -> None:
    """Per subscription, events arrive in the order they were written, sync or async callback."""
    sync_seen: list[int] = []
    async_seen: list[int] = []

    async def slow_async(key: str, old: Any, new: Any) -> None:
        await asyncio.sleep(0.01)
        async_seen.append(new["i"])

    await state.subscribe("order", lambda key, old, new: sync_seen.append(new["i"]))
    await state.subscribe("order", slow_async)
    for i in range(30):
        await state.update("order", {"i": i}, upsert=True)
    await eventually(lambda: len(async_seen) == 30 and len(sync_seen) == 30)
    assert sync_seen == async_seen == list(range(30))


async def test_an_overflowing_queue_drops_counts_and_reports_a_gap_in_place(state: StateManager) -> None:
    """A subscription whose callback is stuck holds at most max_pending events; the rest are dropped,
    counted, and reported as one "overflow" gap with the exact count, after the events queued before
    it and before the events after it. Other subscriptions lose nothing."""
    release = asyncio.Event()
    log: list[Any] = []

    async def stuck(key: str, old: Any, new: Any) -> None:
        await release.wait()
        log.append(key)

    everything: list[str] = []
    sub = state.subscribe("k*", stuck, on_gap=lambda gap: log.append(gap), max_pending=3)
    await sub
    await state.subscribe("k*", lambda key, old, new: everything.append(key))
    for i in range(10):
        await state.save(f"k{i:02}", {})
    await eventually(lambda: len(everything) == 10, what="the unbounded subscription's ten events")
    assert sub.dropped >= 6 and sub.pending <= 4  # at most one in the callback and three queued
    release.set()
    await state.save("k-after", {})
    await eventually(lambda: log[-1:] == ["k-after"], what="the event after the gap")
    delivered = [item for item in log[:-1] if isinstance(item, str)]
    gaps = [item for item in log if isinstance(item, Gap)]
    assert len(gaps) == 1 and gaps[0].reason == "overflow" and gaps[0].missed == sub.dropped
    assert log == [*delivered, gaps[0], "k-after"]
    assert delivered == [f"k{i:02}" for i in range(len(delivered))]  # the first ones, in order
    assert len(delivered) + gaps[0].missed == 10
    assert sub.gaps == 1 and sub.pending == 0


async def test_unsubscribe_by_the_subscription_object_stops_delivery(state: StateManager) -> None:
    seen: list[str] = []
    fence: list[str] = []
    sub = await state.subscribe("u*", lambda key, old, new: seen.append(key))
    await state.subscribe("u*", lambda key, old, new: fence.append(key))
    await state.save("u1", {})
    await eventually(lambda: seen == ["u1"])
    sub.unsubscribe()
    await state.save("u2", {})
    await eventually(lambda: fence == ["u1", "u2"])
    assert seen == ["u1"]


@pytest.mark.parametrize("max_pending", [0, -1, True, 1.5, "10"])
async def test_max_pending_must_be_a_positive_integer(state: StateManager, max_pending: Any) -> None:
    with pytest.raises(InvalidInputError, match="max_pending"):
        state.subscribe("*", lambda key, old, new: None, max_pending=max_pending)


async def test_on_gap_must_be_callable(state: StateManager) -> None:
    with pytest.raises(InvalidInputError, match="on_gap"):
        state.subscribe("*", lambda key, old, new: None, on_gap="print")  # type: ignore[arg-type]


async def test_typed_events_over_the_bound_name_what_they_left_out(prefix: str) -> None:
    """Every manager's events go through the same bound: a knowledge source with a big metadata, a
    speech turn with a big text and a workflow cancelled with a big reason arrive, small, with
    ``omitted`` naming the big fields and their sizes; the small fields (op, version, status) stay."""
    backend = MemoryBackend(key_prefix=prefix, max_event_bytes=16 * 1024)
    big = "x" * 40_000
    got: dict[str, Any] = {}
    kb = KnowledgeStateManager(backend=backend)
    speech = SpeechStateManager(backend=backend)
    wf = WorkflowStateManager(backend=backend)
    await kb.subscribe("*", lambda e: got.setdefault("kb", e))
    await speech.subscribe("*", lambda e: got.setdefault(e.op, e))
    await wf.subscribe("*", lambda e: got.setdefault(e.op, e))

    await kb.update_source_state(SourceState(source_id="wiki", knowledge_base_id="docs", metadata={"blob": big}))
    session = await speech.create_session("voice", "bidirectional", {})
    await speech.add_turn(session, "user", big)
    await wf.create(WorkflowState(workflow_id="w1", total_steps=2))
    await wf.cancel("w1", reason=big)
    await eventually(lambda: {"kb", "conversation", "cancel"} <= set(got), what="the three big events")

    assert got["kb"].omitted.get("new", 0) > len(big) and got["kb"].source is None
    assert got["kb"].op == "update_source" and got["kb"].version is not None
    assert got["conversation"].omitted.get("entries", 0) > len(big) and got["conversation"].turns == []
    assert got["conversation"].turn_count == 1
    assert got["cancel"].omitted.get("reason", 0) > len(big) and got["cancel"].reason is None
    assert got["cancel"].status is not None and got["cancel"].status.value == "cancelled"
    assert "create" in got and got["create"].omitted == {}  # a small event is whole
    await backend.close()

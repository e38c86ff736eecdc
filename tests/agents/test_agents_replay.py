"""A retried agent write returns its first reply and writes nothing; no save's document is kept in the op memory."""

from __future__ import annotations

from typing import Any

import pytest

from agentstate_redis import (
    AgentCheckpoint,
    AgentSnapshot,
    AgentStateStore,
    NotFoundError,
)
from agentstate_redis.backends.base import Backend


async def agent_keyspace(store: AgentStateStore, agent_id: str) -> dict[str, Any]:
    """Everything stored for the agent (its 13 keys, op memory included), to show a replay wrote nothing."""
    client = store.backend.client
    out: dict[str, Any] = {}
    for key in store._entity_keys(agent_id):
        kind = await client.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "hash":
            out[key] = await client.hgetall(key)
        elif kind == "zset":
            out[key] = await client.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            out[key] = await client.xrange(key)
        elif kind != "none":
            raise AssertionError(f"{key}: unexpected type {kind}")
    return out


def fixed_op(store: AgentStateStore, op: str) -> None:
    store._op_id = lambda: op  # type: ignore[method-assign]  # what a retry after a lost reply sends


async def test_retried_checkpoint_and_snapshot_saves_apply_once_and_keep_no_copy(backend: Backend) -> None:
    store = AgentStateStore(backend=backend)
    await store.record_tool_usage("a", "Read", 3)
    await store.update_workflow_state("a", run_id="r1", status="running")
    fixed_op(store, "fixed-op")
    big = {"blob": "x" * 50_000}
    ckpt = AgentCheckpoint(agent_id="a", checkpoint_id="c1", step=1, state=big)
    first = await store.save_checkpoint(ckpt)
    before = await agent_keyspace(store, "a")
    again = await store.save_checkpoint(ckpt)
    assert again == first and again.model_dump() == first.model_dump()
    assert await agent_keyspace(store, "a") == before  # nothing written: no sequence, version or op bump
    assert again == await store.get_checkpoint("a", "c1") and len(await store.list_checkpoints("a")) == 1
    k = backend.keys.agent("a")
    kept = await backend.client.hget(k.ops, "fixed-op")
    # the short reply itself ('+1': the agent's first checkpoint, listed in the index as incarnation 1)
    assert kept.startswith('+1{"saved_at":') and "xxxx" not in kept and len(kept) < 1024

    # the short reply is remembered as it is: the same even after the checkpoint was saved again
    fixed_op(store, "other-op")
    await store.save_checkpoint(ckpt.model_copy(update={"step": 2}))
    fixed_op(store, "fixed-op")
    assert await store.save_checkpoint(ckpt) == first

    fixed_op(store, "snap-op")
    snap = AgentSnapshot(agent_id="a", snapshot_id="s1", memory_state=big)
    saved = await store.save_snapshot(snap)
    before = await agent_keyspace(store, "a")
    assert await store.save_snapshot(snap) == saved
    assert await agent_keyspace(store, "a") == before
    assert (await store.list_snapshots("a")) == [saved]
    kept = await backend.client.hget(k.ops, "snap-op")
    assert kept.startswith('{"saved_at":') and len(kept) < 100


async def test_the_raw_reply_of_a_replayed_save_is_identical(backend: Backend) -> None:
    store = AgentStateStore(backend=backend)
    await store.record_approval("a", "Bash", True, "once", {"command": "ls"})
    keys = store._entity_keys("a")
    body = '{"checkpoint_id":"c1","agent_id":"a","step_number":1,"state":{"n":[1,2]}}'
    args = ["op-1", "", "a", "", "c1", 1, 1, body, 1, 10]
    first = await backend.run("agents/save_checkpoint", keys, args)
    before = await agent_keyspace(store, "a")
    assert await backend.run("agents/save_checkpoint", keys, args) == first
    assert await agent_keyspace(store, "a") == before
    sargs = ["op-2", "", "a", "", "s1", '{"agent_id":"a","snapshot_id":"s1"', 5]
    first = await backend.run("agents/save_snapshot", keys, sargs)
    before = await agent_keyspace(store, "a")
    assert await backend.run("agents/save_snapshot", keys, sargs) == first
    assert await agent_keyspace(store, "a") == before


async def test_a_long_checkpoint_reply_is_kept_by_reference_and_replayed_identically(backend: Backend) -> None:
    store = AgentStateStore(backend=backend)
    for i in range(20):  # 20 approvals with 200-character summaries: the reply is several KB
        await store.record_approval("a", f"tool{i}", True, "once", "z" * 300)
    fixed_op(store, "long-op")
    ckpt = AgentCheckpoint(agent_id="a", checkpoint_id="c1", step=1, state={"blob": "x" * 50_000 + "ü🙂" * 99})
    first = await store.save_checkpoint(ckpt)
    assert len(first.approval_history) == 20
    k = backend.keys.agent("a")
    kept = await backend.client.hget(k.ops, "long-op")
    assert kept == "#ckptref:+:c1"  # '+': the agent's first checkpoint (the reply is re-read from s:c1)

    before = await agent_keyspace(store, "a")
    again = await store.save_checkpoint(ckpt)
    assert again == first and again.model_dump() == first.model_dump() == (await store.get_checkpoint("a")).model_dump()
    assert await agent_keyspace(store, "a") == before

    # raw: the replayed reply is the first reply, byte for byte
    keys = store._entity_keys("a")
    args = ["raw-op", "", "a", "", "c2", 0, 1, '{"checkpoint_id":"c2","agent_id":"a","step_number":0}', 1, 10]
    raw = await backend.run("agents/save_checkpoint", keys, args)
    assert len(raw) > 1024 and await backend.client.hget(k.ops, "raw-op") == "#ckptref:=:c2"
    assert await backend.run("agents/save_checkpoint", keys, args) == raw

    # once another save has replaced c1 the first reply cannot be rebuilt: a typed error, nothing written
    fixed_op(store, "replacing-op")
    await store.save_checkpoint(ckpt.model_copy(update={"step": 2}))
    fixed_op(store, "long-op")
    before = await agent_keyspace(store, "a")
    with pytest.raises(NotFoundError, match="c1"):
        await store.save_checkpoint(ckpt)
    assert await agent_keyspace(store, "a") == before
    await store.delete_checkpoint("a", "c1")
    with pytest.raises(NotFoundError):
        await store.save_checkpoint(ckpt)

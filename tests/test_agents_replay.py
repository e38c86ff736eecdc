"""A retried agent write returns its first reply, and large replies are remembered by reference."""

from __future__ import annotations

from agentstate_redis import AgentCheckpoint, AgentSnapshot, AgentStateStore
from agentstate_redis.backends.base import Backend


async def test_retried_checkpoint_and_snapshot_saves_apply_once_and_keep_no_copy(backend: Backend) -> None:
    store = AgentStateStore(backend=backend)
    store._op_id = lambda: "fixed-op"  # type: ignore[method-assign]  # what a retry after a lost reply sends
    big = {"blob": "x" * 50_000}
    first = await store.save_checkpoint(AgentCheckpoint(agent_id="a", checkpoint_id="c1", step=1, state=big))
    again = await store.save_checkpoint(AgentCheckpoint(agent_id="a", checkpoint_id="c1", step=1, state=big))
    assert again == first and len(await store.list_checkpoints("a")) == 1
    k = backend.keys.agent("a")
    assert await backend.client.hget(k.ops, "fixed-op") == "#ckpt:c1"  # not the 50 KB document

    store._op_id = lambda: "snap-op"  # type: ignore[method-assign]
    snap = await store.save_snapshot(AgentSnapshot(agent_id="a", snapshot_id="s1", memory_state=big))
    assert await store.save_snapshot(AgentSnapshot(agent_id="a", snapshot_id="s1", memory_state=big)) == snap
    assert await backend.client.hget(k.ops, "snap-op") == "#snap:s1"

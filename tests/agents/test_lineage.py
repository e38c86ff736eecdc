"""Checkpoint lineage: parents, forks (in one agent and into another), the tree, the cross-agent index."""

from __future__ import annotations

import pytest

from agentstate_redis import (
    AgentCheckpoint,
    AgentStateStore,
    AgentTracker,
    AlreadyExistsError,
    LeaseError,
    NotFoundError,
)
from agentstate_redis.backends.base import Backend

from ..cluster_cases import on_cluster


@pytest.fixture
def store(backend: Backend) -> AgentStateStore:
    return AgentStateStore(backend=backend, max_checkpoints=4)


def ck(agent: str, cid: str, step: int, **state: int) -> AgentCheckpoint:
    return AgentCheckpoint(agent_id=agent, checkpoint_id=cid, step=step, state=state)


@on_cluster
async def test_saves_chain_and_restore_branches(store: AgentStateStore) -> None:
    first = await store.save_checkpoint(ck("a1", "c1", 1))
    assert first.parent_checkpoint_id is None and first.parent_agent_id is None
    second = await store.save_checkpoint(ck("a1", "c2", 2))
    assert (second.parent_checkpoint_id, second.parent_agent_id) == ("c1", "a1")
    assert second == await store.get_checkpoint("a1", "c2")  # the reply is what is stored
    await store.restore_checkpoint("a1", "c1")  # the line goes on from c1: the next save branches
    third = await store.save_checkpoint(ck("a1", "c3", 3))
    assert third.parent_checkpoint_id == "c1"
    again = await store.save_checkpoint(ck("a1", "c1", 1, x=1))  # a re-save keeps its place
    assert again.parent_checkpoint_id is None
    tree = await store.get_checkpoint_tree("a1")
    assert tree.head == "c1" and tree.roots == ["c1"]
    assert tree.children("c1") == ["c2", "c3"] and tree.as_dict() == {"c1": ["c2", "c3"]}
    assert tree.lineage("c3") == ["c3", "c1"] and tree.parent("c2") == "c1"
    assert not any(n.fork for n in tree.nodes.values())


@on_cluster
async def test_fork_in_one_agent_copies_restores_and_moves_the_head(store: AgentStateStore) -> None:
    t = AgentTracker(store, "a1")
    await t.record_tool_usage("Bash", 2)
    await store.save_checkpoint(ck("a1", "c1", 1, n=1))
    await t.record_tool_usage("Bash", 5)
    await store.save_checkpoint(ck("a1", "c2", 2, n=2))
    fork = await store.fork_from_checkpoint("a1", "c1")
    assert fork.checkpoint_id not in ("c1", "c2") and fork.agent_id == "a1"
    assert (fork.parent_checkpoint_id, fork.parent_agent_id, fork.step, fork.state) == ("c1", "a1", 1, {"n": 1})
    assert fork.tool_usage_counts == {"Bash": 2}
    assert await store.get_tool_usage_counts("a1") == {"Bash": 2}  # the source's tracking, written back
    assert fork == await store.get_checkpoint("a1", fork.checkpoint_id)
    after = await store.save_checkpoint(ck("a1", "c3", 3))
    assert after.parent_checkpoint_id == fork.checkpoint_id
    tree = await store.get_checkpoint_tree("a1")
    assert tree.children("c1") == ["c2", fork.checkpoint_id] and tree.nodes[fork.checkpoint_id].fork
    assert tree.lineage("c3") == ["c3", fork.checkpoint_id, "c1"]
    latest_fork = await store.fork_from_checkpoint("a1")  # "latest": c3 (highest step)
    assert latest_fork.parent_checkpoint_id == "c3"


@on_cluster
async def test_fork_respects_retention(store: AgentStateStore) -> None:
    for i in range(4):
        await store.save_checkpoint(ck("a1", f"c{i}", 10 + i))
    fork = await store.fork_from_checkpoint("a1", "c3")  # step 13: c0 (step 10) is trimmed
    ids = [c.checkpoint_id for c in await store.list_checkpoints("a1")]
    assert len(ids) == 4 and "c0" not in ids and fork.checkpoint_id in ids
    tree = await store.get_checkpoint_tree("a1")
    assert tree.roots == ["c1"] and tree.nodes["c1"].parent_checkpoint_id == "c0"  # still says where from


@on_cluster  # two agents, two slots: the two-step fork
async def test_fork_into_another_agent(store: AgentStateStore) -> None:
    await AgentTracker(store, "src").record_approval("Write", False, "deny_all")
    await store.save_checkpoint(ck("src", "c1", 4, n=1))
    fork = await store.fork_from_checkpoint("src", "c1", "dst")
    assert (fork.agent_id, fork.parent_checkpoint_id, fork.parent_agent_id) == ("dst", "c1", "src")
    assert await store.get_standing_decision("dst", "Write") == "denied"
    assert fork == await store.get_checkpoint("dst", "latest")
    tree = await store.get_checkpoint_tree("dst")
    assert tree.roots == [fork.checkpoint_id] and tree.head == fork.checkpoint_id
    assert tree.nodes[fork.checkpoint_id].parent_agent_id == "src"
    assert (await store.get_checkpoint_tree("src")).as_dict() == {}  # the source agent is untouched
    with pytest.raises(AlreadyExistsError):  # a fork never mixes into an agent holding state
        await store.fork_from_checkpoint("src", "c1", "dst")
    assert len(await store.list_checkpoints("dst")) == 1
    with pytest.raises(NotFoundError):
        await store.fork_from_checkpoint("src", "nope", "dst2")
    assert await store.list_checkpoints("dst2") == []


async def test_fork_is_fenced_by_the_target_agents_lease(store: AgentStateStore) -> None:
    await store.save_checkpoint(ck("src", "c1", 1))
    token = await store.acquire_lease("dst", "owner-1")
    with pytest.raises(LeaseError):
        await store.fork_from_checkpoint("src", "c1", "dst")
    fork = await store.fork_from_checkpoint("src", "c1", "dst", fencing_token=token)
    assert fork.fencing_token == token


async def test_deleted_then_resaved_id_is_a_new_node(store: AgentStateStore) -> None:
    await store.save_checkpoint(ck("a1", "c1", 1))
    await store.save_checkpoint(ck("a1", "c2", 2))
    await store.delete_checkpoint("a1", "c1")
    await store.save_checkpoint(ck("a1", "c1", 3))  # parent c2; c2's parent was the old c1
    tree = await store.get_checkpoint_tree("a1")
    assert tree.roots == ["c2"] and tree.children("c2") == ["c1"] and tree.lineage("c1") == ["c1", "c2"]


@on_cluster  # the index is a slot of its own
async def test_list_all_checkpoints_pages_by_agent_from_the_index(store: AgentStateStore) -> None:
    for agent in ("a", "b", "c", "d"):
        for i in range(2):
            await store.save_checkpoint(ck(agent, f"{agent}{i}", i))
    await store.delete_agent("c")
    page = await store.list_all_checkpoints(limit=3)
    assert [(n.agent_id, n.checkpoint_id) for n in page] == [("a", "a1"), ("a", "a0"), ("b", "b1"), ("b", "b0")]
    rest = await store.list_all_checkpoints(limit=3, after=page[-1].agent_id)
    assert [n.checkpoint_id for n in rest] == ["d1", "d0"]
    assert await store.list_all_checkpoints(after="d") == []
    assert rest[0].parent_checkpoint_id == "d0"


async def test_fork_replay_applies_once(store: AgentStateStore, backend: Backend) -> None:
    await store.save_checkpoint(ck("a1", "c1", 1))
    _doc, member, _raw, born, _ = await store._read("fork_source", "a1", "a1", "c1")
    copy = AgentCheckpoint(agent_id="a1", checkpoint_id="f1", step=1)
    body = store._dumps(copy.caller_fields())
    args = ["op-fork-1", "", "a1", "", "f1", 1, True, body, 4, "", "c1", born, member, ""]
    first = await backend.run("agents/fork_checkpoint", store._entity_keys("a1"), args)
    assert await backend.run("agents/fork_checkpoint", store._entity_keys("a1"), args) == first
    assert [c.checkpoint_id for c in await store.list_checkpoints("a1")] == ["f1", "c1"]


async def test_the_index_takes_one_write_per_agent_and_converges_in_any_order(
    store: AgentStateStore, backend: Backend
) -> None:
    idx = store.keys.index("checkpoints")
    keys = [idx.base, idx("versions")]
    await store.save_checkpoint(ck("a", "c1", 1))  # the first checkpoint lists incarnation 1
    assert await backend.run("agents/index_add", keys, ["a", "1"]) == "0"  # listed already
    await store.save_checkpoint(ck("a", "c2", 2))  # later saves send the index nothing
    await store.delete_agent("a")  # incarnation 2: the drop
    assert await store.list_all_checkpoints() == []
    await store.save_checkpoint(ck("a", "c3", 1))  # incarnation 3
    assert await backend.run("agents/index_drop", keys, ["a", "2"]) == "0"  # a late drop: no effect
    assert await backend.run("agents/index_add", keys, ["a", "1"]) == "0"  # a late old add: no effect
    assert [n.checkpoint_id for n in await store.list_all_checkpoints()] == ["c3"]
    await store.delete_checkpoint("a", "c3")  # still listed, skipped: no checkpoint left
    assert await store.list_all_checkpoints() == []
    await store.save_checkpoint(ck("a", "c4", 1))  # the first again: listed (again) as incarnation 4
    assert [n.checkpoint_id for n in await store.list_all_checkpoints()] == ["c4"]

"""Checkpoint bodies in keys of their own: large ones staged, loads that race a save, and the previous format."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from agentstate_redis import AgentCheckpoint, AgentStateStore, LeaseError, NotFoundError
from agentstate_redis.agents import bodies
from agentstate_redis.backends.base import Backend
from agentstate_redis.events import ChangeEvent

from .stored import body_keys, old_document, stored_document, write_old_checkpoint

BIG = {"blob": "x" * (bodies.STAGE_MIN_BYTES + 10), "n": [1, 2, 3], "u": "ü🙂"}


@pytest.fixture
def store(backend: Backend) -> AgentStateStore:
    return AgentStateStore(backend=backend, max_checkpoints=3)


async def staged_keys(backend: Backend, agent_id: str) -> list[str]:
    return [key async for key in backend.scan(backend.keys.agent(agent_id)("ckptstage:*"))]


def fixed_op(store: AgentStateStore, op: str) -> None:
    store._op_id = lambda: op  # type: ignore[method-assign]  # what a retry after a lost reply sends


async def test_a_large_body_is_staged_renamed_and_stored_as_sent(store: AgentStateStore, backend: Backend) -> None:
    await store.record_tool_usage("a", "Read", 2)
    saved = await store.save_checkpoint(AgentCheckpoint(agent_id="a", checkpoint_id="c1", step=1, state=BIG))
    assert saved.state == BIG and saved.tool_usage_counts == {"Read": 2}
    assert saved == await store.get_checkpoint("a", "c1") == await store.get_checkpoint("a")
    assert await staged_keys(backend, "a") == []  # renamed into place
    k = backend.keys.agent("a")
    assert await backend.client.pttl(k("ckptbody:c1")) == -1  # the staging expiry is gone
    doc = await stored_document(backend, "a", "c1")
    assert doc["state"] == BIG and doc["~op"] == await backend.client.hget(k("checkpoints"), "t:c1")
    # small and large saves of the same id replace each other, body and all
    small = await store.save_checkpoint(AgentCheckpoint(agent_id="a", checkpoint_id="c1", step=2, state={"s": 1}))
    assert await store.get_checkpoint("a", "c1") == small
    again = await store.save_checkpoint(AgentCheckpoint(agent_id="a", checkpoint_id="c1", step=3, state=BIG))
    assert await store.list_checkpoints("a") == [again]


async def test_retention_and_deletes_drop_the_bodies(store: AgentStateStore, backend: Backend) -> None:
    for i in range(5):
        await store.save_checkpoint(
            AgentCheckpoint(agent_id="a", checkpoint_id=f"c{i}", step=i, state=BIG if i % 2 else {"i": i})
        )
    assert [c.checkpoint_id for c in await store.list_checkpoints("a")] == ["c4", "c3", "c2"]
    assert len(await body_keys(backend, "a")) == 3
    assert await store.delete_checkpoint("a", "c3") is True
    assert len(await body_keys(backend, "a")) == 2
    assert await store.delete_agent("a") is True
    assert await body_keys(backend, "a") == []


async def test_a_refused_save_writes_nothing_and_drops_its_staged_body(
    store: AgentStateStore, backend: Backend
) -> None:
    token = await store.acquire_lease("a", "owner-1")
    with pytest.raises(LeaseError):
        await store.save_checkpoint(AgentCheckpoint(agent_id="a", checkpoint_id="c1", state=BIG))
    with pytest.raises(LeaseError):
        await store.save_checkpoint(
            AgentCheckpoint(agent_id="a", checkpoint_id="c1", state=BIG), fencing_token=token + 1
        )
    assert await staged_keys(backend, "a") == [] and await body_keys(backend, "a") == []
    with pytest.raises(NotFoundError):
        await store.get_checkpoint("a", "c1")
    saved = await store.save_checkpoint(
        AgentCheckpoint(agent_id="a", checkpoint_id="c1", state=BIG), fencing_token=token
    )
    assert saved.fencing_token == token


async def test_a_resent_large_save_applies_once(store: AgentStateStore, backend: Backend) -> None:
    fixed_op(store, "op-big")
    ckpt = AgentCheckpoint(agent_id="a", checkpoint_id="c1", step=1, state=BIG)
    first = await store.save_checkpoint(ckpt)
    again = await store.save_checkpoint(ckpt)  # stages the body again; the script replays and drops it
    assert again == first and (await store.get_checkpoint("a", "c1")).sequence == 1
    assert await staged_keys(backend, "a") == []


async def test_a_save_whose_staged_body_is_gone_writes_nothing(store: AgentStateStore, backend: Backend) -> None:
    keys = store._entity_keys("a")
    with pytest.raises(NotFoundError) as err:
        await backend.run("agents/save_checkpoint", keys, ["op-x", "", "a", "", "c1", 1, 1, "", 1, 3])
    assert "staged body" in err.value.reason
    with pytest.raises(NotFoundError):
        await store.get_checkpoint("a")


async def test_a_staging_failure_sends_the_body_in_the_script(
    store: AgentStateStore, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(backend: Backend, key: str, body: bytes) -> bool:
        return False

    monkeypatch.setattr(bodies, "stage", refused)
    saved = await store.save_checkpoint(AgentCheckpoint(agent_id="a", checkpoint_id="c1", state=BIG))
    assert saved == await store.get_checkpoint("a", "c1") and saved.state == BIG


async def test_a_load_that_races_a_save_reads_one_save_whole(
    store: AgentStateStore, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.save_checkpoint(AgentCheckpoint(agent_id="a", checkpoint_id="c1", step=1, state=BIG))
    fetch = bodies.fetch
    newer = AgentCheckpoint(agent_id="a", checkpoint_id="c1", step=2, state={**BIG, "n": [9]})

    async def late_fetch(backend: Backend, key: str) -> str | None:
        await other.save_checkpoint(newer)  # lands between the script's read and the body's GET
        return await fetch(backend, key)

    other = AgentStateStore(backend=backend, max_checkpoints=3)
    monkeypatch.setattr(bodies, "fetch", late_fetch)
    got = await store.get_checkpoint("a", "c1")
    # the GET saw the newer body, the script the older members: read again, atomically -> one save whole
    assert got.step == 2 and got.state["n"] == [9] and got.sequence == 2

    async def no_fetch(backend: Backend, key: str) -> str | None:
        return None  # a GET that failed (connection, ACL): the script reads the body

    monkeypatch.setattr(bodies, "fetch", no_fetch)
    assert await store.get_checkpoint("a", "c1") == got and await store.get_checkpoint("a") == got


async def test_concurrent_saves_and_loads_of_one_id_never_mix(store: AgentStateStore) -> None:
    async def saver(i: int) -> None:
        for j in range(10):
            await store.save_checkpoint(
                AgentCheckpoint(agent_id="a", checkpoint_id="c", step=j, state={**BIG, "who": i, "j": j})
            )

    async def loader() -> None:
        for _ in range(20):
            try:
                got = await store.get_checkpoint("a", "c")
            except NotFoundError:
                continue
            assert got.step == got.state["j"]  # members and body of one save

    await asyncio.gather(saver(1), saver(2), loader(), loader())


async def test_checkpoints_of_the_previous_format_keep_working(backend: Backend) -> None:
    store = AgentStateStore(backend=backend, max_checkpoints=10)
    await write_old_checkpoint(backend, "a", "old1", 1, {"n": 1, "tup": [1, 2]})
    await write_old_checkpoint(backend, "a", "old2", 2, {"n": 2})
    old2 = await store.get_checkpoint("a", "old2")
    assert (old2.step, old2.state, old2.metadata, old2.sequence) == (2, {"n": 2}, {"old": True}, 2)
    assert old2.parent_checkpoint_id == "old1" and old2.tool_usage_counts == {"Read": 3}
    assert await store.get_checkpoint("a") == old2
    assert [c.checkpoint_id for c in await store.list_checkpoints("a")] == ["old2", "old1"]
    tree = await store.get_checkpoint_tree("a")
    assert tree.head == "old2" and tree.lineage("old2") == ["old2", "old1"]

    # a new save continues the old line; restore and recover write the old tracking back
    new = await store.save_checkpoint(AgentCheckpoint(agent_id="a", checkpoint_id="new1", step=3, state=BIG))
    assert new.parent_checkpoint_id == "old2" and new.sequence == 3
    await store.record_tool_usage("a", "Bash", 1)
    restored = await store.restore_checkpoint("a", "old1")
    assert restored.state == {"n": 1, "tup": [1, 2]} and await store.get_tool_usage_counts("a") == {"Read": 3}
    recovered, attempts = await store._recover("a", "old2", 3, None)
    assert recovered == old2 and attempts == 1

    # forks of an old checkpoint, in the agent and into another
    fork = await store.fork_from_checkpoint("a", "old1")
    assert fork.state == {"n": 1, "tup": [1, 2]} and fork.parent_checkpoint_id == "old1"
    other = await store.fork_from_checkpoint("a", "old2", "b")
    assert other.state == {"n": 2} and other.parent_agent_id == "a"
    assert await store.get_checkpoint("b") == other

    # re-saving an old id replaces its document; deleting one drops every field
    resaved = await store.save_checkpoint(AgentCheckpoint(agent_id="a", checkpoint_id="old2", step=2, state={"r": 1}))
    assert await store.get_checkpoint("a", "old2") == resaved and resaved.parent_checkpoint_id == "old1"
    fields = await backend.client.hkeys(backend.keys.agent("a")("checkpoints"))
    assert "d:old2" not in fields
    assert await store.delete_checkpoint("a", "old1") is True
    assert not [f for f in await backend.client.hkeys(backend.keys.agent("a")("checkpoints")) if f.endswith(":old1")]


async def test_old_checkpoints_are_trimmed_by_retention_and_deleted_with_the_agent(
    store: AgentStateStore, backend: Backend
) -> None:
    for i in range(3):
        await write_old_checkpoint(backend, "a", f"old{i}", i, {"i": i})
    await store.save_checkpoint(AgentCheckpoint(agent_id="a", checkpoint_id="new", step=9, state={"x": 1}))
    assert [c.checkpoint_id for c in await store.list_checkpoints("a")] == ["new", "old2", "old1"]
    assert not [f for f in await backend.client.hkeys(backend.keys.agent("a")("checkpoints")) if f.endswith(":old0")]
    assert await store.delete_agent("a") is True and await store.list_checkpoints("a") == []


def test_the_old_document_helper_is_valid_json() -> None:
    doc = orjson.loads(old_document("a", "c", 1, {"k": [1]}, 7, "p"))
    assert doc["sequence"] == 7 and doc["parent_checkpoint_id"] == "p" and doc["state"] == {"k": [1]}


async def test_a_large_save_publishes_a_small_event(store: AgentStateStore) -> None:
    from ..waiting import eventually

    seen: list[ChangeEvent] = []
    await store.subscribe_events("a", seen.append)
    await store.save_checkpoint(AgentCheckpoint(agent_id="a", checkpoint_id="c1", step=4, state=BIG))
    await eventually(lambda: len(seen) >= 1, what="the checkpoint event")
    event = seen[0]
    assert (event.op, event.data["checkpoint_id"], event.data["step"]) == ("checkpoint", "c1", 4)
    assert len(orjson.dumps(event.data)) < 1024  # the body is never in the event

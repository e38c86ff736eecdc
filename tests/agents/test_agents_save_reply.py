"""Checkpoint and snapshot saves reply only what the server added; the returned model is what a load gives back."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from agentstate_redis import AgentCheckpoint, AgentSnapshot, AgentStateStore
from agentstate_redis.backends.base import Backend

GIVEN = {
    "none": None,
    "aware": datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2))),
    "utc": datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc),
    "naive": datetime(2024, 5, 6, 7, 8, 9, 654321),
}


class Colour(enum.Enum):
    RED = "red"


def odd_values() -> dict[str, object]:
    """Values JSON changes on the way (tuple -> list, datetime/UUID/enum -> str): the model must say so too."""
    return {
        "tup": (1, (2, 3)),
        "when": datetime(2023, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        "id": uuid.UUID(int=7),
        "colour": Colour.RED,
        "big": 2**62,
        "f": 0.1,
        "empty": [],
        "obj": {},
        "text": 'q"u\\o/te ü 🙂',
    }


@pytest.fixture
def store(backend: Backend) -> AgentStateStore:
    return AgentStateStore(backend=backend, max_snapshots=5, max_checkpoints=5)


async def track(store: AgentStateStore, agent: str, token: int | None) -> None:
    await store.record_approval(agent, "Bash", True, "once", {"command": "ls -la"}, fencing_token=token)
    await store.record_approval(agent, 'Wr"ite/ü', False, "deny_all", fencing_token=token)
    await store.record_approval(agent, "Read", True, "all", "x" * 500, fencing_token=token)
    await store.record_tool_usage(agent, "Read", 5, fencing_token=token)
    await store.record_tool_usage(agent, "Bash", 2**40, fencing_token=token)
    await store.update_workflow_state(
        agent,
        run_id="run_1",
        status="running",
        current_node="n1",
        node_results={"n0": {"ok": True, "big": 2**62}},
        execution_time=1.5,
        empty_list=[],
        fencing_token=token,
    )


@pytest.mark.parametrize("given", list(GIVEN), ids=list(GIVEN))
async def test_saved_checkpoint_equals_the_loaded_one(store: AgentStateStore, given: str) -> None:
    token = await store.acquire_lease("a1", "owner-1")
    await track(store, "a1", token)
    ckpt = AgentCheckpoint(
        agent_id="a1",
        checkpoint_id="c1",
        step=3,
        state={"messages": [odd_values()], "n": 1},
        metadata={"m": odd_values()},
        recoverable=False,
        timestamp=GIVEN[given],
    )
    saved = await store.save_checkpoint(ckpt, fencing_token=token)

    assert saved == await store.get_checkpoint("a1", "c1")
    assert saved == await store.get_checkpoint("a1")
    assert saved == (await store.list_checkpoints("a1"))[0]
    assert saved.model_dump() == (await store.get_checkpoint("a1", "c1")).model_dump()
    # what the server added
    assert saved.fencing_token == token and saved.sequence == 1
    assert isinstance(saved.saved_at, datetime) and saved.saved_at.tzinfo is not None
    if GIVEN[given] is None:
        assert saved.timestamp == saved.saved_at
    else:
        assert saved.timestamp == GIVEN[given] and saved.timestamp != saved.saved_at
    assert [r.tool_name for r in saved.approval_history] == ["Bash", 'Wr"ite/ü', "Read"]  # recording order
    assert saved.approval_history[-1].input_summary == "x" * 200 + "..."
    assert all(isinstance(r.timestamp, datetime) for r in saved.approval_history)
    assert saved.tool_usage_counts == {"Read": 5, "Bash": 2**40}
    assert saved.workflow_run_id == "run_1" and isinstance(saved.workflow_state["last_updated"], datetime)
    assert saved.workflow_state == await store.get_workflow_state("a1")
    # the caller's fields, as JSON gives them back
    assert (saved.agent_id, saved.checkpoint_id, saved.step, saved.recoverable) == ("a1", "c1", 3, False)
    assert saved.state["messages"][0]["tup"] == [1, [2, 3]] and saved.state["messages"][0]["colour"] == "red"
    assert saved.metadata["m"]["big"] == 2**62 and saved.metadata["m"]["text"] == 'q"u\\o/te ü 🙂'

    # a second save of the same id without a token or tracking changes: still what a load gives back
    await store.release_lease("a1", token)
    again = await store.save_checkpoint(ckpt.model_copy(update={"step": 4}))
    assert again == await store.get_checkpoint("a1", "c1") and again.fencing_token is None and again.sequence == 2


async def test_saved_checkpoint_without_tracking_equals_the_loaded_one(store: AgentStateStore) -> None:
    saved = await store.save_checkpoint(AgentCheckpoint(agent_id="a2", checkpoint_id="c", state={"k": "v"}))
    assert saved == await store.get_checkpoint("a2", "c")
    assert (saved.approval_history, saved.tool_usage_counts, saved.workflow_run_id, saved.workflow_state) == (
        [],
        {},
        None,
        {},
    )


@pytest.mark.parametrize("given", list(GIVEN), ids=list(GIVEN))
async def test_saved_snapshot_equals_the_listed_one(store: AgentStateStore, given: str) -> None:
    fields = {} if GIVEN[given] is None else {"timestamp": GIVEN[given]}
    token = await store.acquire_lease("a1", "owner-1")
    snap = AgentSnapshot(
        agent_id="a1",
        snapshot_id="s1",
        memory_state=odd_values(),
        tool_state=(1, "two"),
        conversation_history=[{"role": "user", "content": "hi", "at": odd_values()["when"]}],
        metadata={"m": odd_values()},
        **fields,
    )
    saved = await store.save_snapshot(snap, fencing_token=token)
    assert saved == (await store.list_snapshots("a1"))[0]
    assert saved.model_dump() == (await store.list_snapshots("a1", 1))[0].model_dump()
    assert saved.sequence == 1 and isinstance(saved.saved_at, datetime) and saved.saved_at.tzinfo is not None
    assert saved.timestamp == snap.timestamp
    assert saved.memory_state["tup"] == [1, [2, 3]] and saved.tool_state == [1, "two"]
    later = await store.save_snapshot(AgentSnapshot(agent_id="a1", snapshot_id="s2"), fencing_token=token)
    assert await store.list_snapshots("a1") == [later, saved]


async def test_the_save_replies_carry_only_what_the_server_added(store: AgentStateStore, backend: Backend) -> None:
    await track(store, "a1", None)
    keys = store._entity_keys("a1")
    blob = "y" * 100_000
    body = orjson.dumps({"checkpoint_id": "c1", "agent_id": "a1", "step_number": 1, "state": {"blob": blob}}).decode()
    for add_ts, fields in ((1, {"timestamp"}), (0, set())):
        reply = await backend.run("agents/save_checkpoint", keys, ["", "", "a1", "", "c1", 1, 1, body, add_ts, 10])
        assert blob not in reply and len(reply) < 2_000
        assert reply.startswith("+1{") == (add_ts == 1)  # the agent's first checkpoint: index it as incarnation 1
        reply = reply[reply.index("{") :]
        added = orjson.loads(reply)
        assert set(added) == fields | {
            "saved_at",
            "sequence",
            "fencing_token",
            "approval_history",
            "tool_usage_counts",
            "workflow_run_id",
            "workflow_state",
            "standing_decisions",
            "parent_checkpoint_id",
            "parent_agent_id",
        }
        # the body byte for byte in its own key, the server's members (no braces) in s:<id>
        k = backend.keys.agent("a1")
        assert await backend.client.get(k("ckptbody:c1")) == body
        assert await backend.client.hget(k("checkpoints"), "s:c1") == reply[1:-1]
        assert await backend.client.hget(k("checkpoints"), "d:c1") is None

    sbody = orjson.dumps({"agent_id": "a1", "snapshot_id": "s1", "memory_state": blob}).decode()
    reply = await backend.run("agents/save_snapshot", keys, ["", "", "a1", "", "s1", sbody[:-1], 5])
    assert set(orjson.loads(reply)) == {"saved_at", "sequence"} and len(reply) < 100
    assert await backend.client.hget(backend.keys.agent("a1")("snapshots"), "s1") == sbody[:-1] + "," + reply[1:]

"""Restore any captured state (issue 19, item 6): by value, atomically, in one script; bad ones change nothing.

On every backend. ``AgentStateStore.restore_tracking`` (under the mixin's ``_restore_state`` and
``AgentTracker.restore_state(<object>)``) takes a CapturedState, an AgentCheckpoint, a dict of the
seed's checkpoint shape (hand-built, or JSON from another store) or an object with those
attributes (Kaizen's AgentState), and replaces approvals, standing decisions, tool counts and
workflow state in one script. Proved: exact round trips; decisions survive a history longer than
the cap; a replayed op id applies once; a stale lease holder is refused; and every invalid state
raises InvalidInputError with the agent's keys unchanged byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest

from agentstate_redis import (
    AgentCheckpoint,
    AgentStateStore,
    AgentTracker,
    CapturedState,
    InvalidInputError,
    LeaseError,
)
from agentstate_redis.agents.captured import tracking_args
from agentstate_redis.backends.base import Backend
from agentstate_redis.codec import dumps


@pytest.fixture
def store(backend: Backend) -> AgentStateStore:
    return AgentStateStore(backend=backend)


async def _tracking(store: AgentStateStore, agent: str) -> dict[str, Any]:
    return {
        "history": [r.model_dump() for r in await store.get_approval_history(agent)],
        "decisions": await store.get_standing_decisions(agent),
        "counts": await store.get_tool_usage_counts(agent),
        "workflow": await store.get_workflow_state(agent),
    }


async def _seed(store: AgentStateStore, agent: str = "a1") -> None:
    await store.record_approval(agent, "Bash", True, "once", {"command": "ls"})
    await store.record_approval(agent, "Write", False, "deny_all")
    await store.record_tool_usage(agent, "Read", 4)
    await store.update_workflow_state(agent, run_id="r0", status="running")


async def test_a_hand_built_state_restores_exactly(store: AgentStateStore) -> None:
    await _seed(store)
    state = {
        "checkpoint_id": "ckpt_abc123",
        "agent_id": "my_agent",
        "timestamp": "2025-01-01T12:00:00",
        "step_number": 5,
        "approval_history": [
            {
                "tool_name": "Bash",
                "approved": True,
                "action": "once",
                "timestamp": "2025-01-01T12:00:00.000000",
                "input_summary": "{'command': 'ls -la'}",
            },
            {
                "tool_name": "Write",
                "approved": True,
                "action": "all",
                "timestamp": "2025-01-01T12:00:01.250000+00:00",
                "input_summary": "",
            },
            {"tool_name": "Rm", "approved": False, "action": "deny_all"},  # no timestamp: the server's now
        ],
        "tool_usage_counts": {"Bash": 3, "Read": 10},
        "workflow_run_id": "run_abc123",
        "workflow_state": {
            "status": "running",
            "current_node": "node1",
            "last_updated": "2025-01-01T12:00:02+00:00",
            "node_results": {"n": [1, 2**60]},
        },
    }
    await store.restore_tracking("a1", state)
    got = await _tracking(store, "a1")
    assert [(r["tool_name"], r["action"], r["input_summary"]) for r in got["history"]] == [
        ("Bash", "once", "{'command': 'ls -la'}"),
        ("Write", "all", None),
        ("Rm", "deny_all", None),
    ]
    assert got["history"][0]["timestamp"] == datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert got["history"][1]["timestamp"] == datetime(2025, 1, 1, 12, 0, 1, 250000, tzinfo=timezone.utc)
    assert got["history"][2]["timestamp"].year >= 2025
    assert got["decisions"] == {"Write": "allowed", "Rm": "denied"}  # derived, as recording sets them
    assert got["counts"] == {"Bash": 3, "Read": 10}
    assert got["workflow"] == {
        "status": "running",
        "current_node": "node1",
        "node_results": {"n": [1, 2**60]},
        "run_id": "run_abc123",
        "last_updated": datetime(2025, 1, 1, 12, 0, 2, tzinfo=timezone.utc),
    }


async def test_a_checkpoint_or_captured_state_round_trips_into_any_agent(store: AgentStateStore) -> None:
    await _seed(store)
    ckpt = await AgentTracker(store, "a1").capture_state({"x": 1}, step=3)
    before = await _tracking(store, "a1")
    for agent, given in (
        ("a2", ckpt),
        ("a3", CapturedState.from_checkpoint(ckpt)),
        ("a4", CapturedState.from_checkpoint(ckpt).to_dict()),
    ):
        await store.record_tool_usage(agent, "Junk")
        assert await AgentTracker(store, agent).restore_state(given) is None
        assert await _tracking(store, agent) == before


@dataclass
class KaizenAgentState:
    """The attributes of Kaizen's AgentState that carry tracking (plus a few it also has)."""

    agent_id: str = "k"
    step_number: int = 2
    conversation_history: list[Any] = field(default_factory=list)
    approval_history: list[dict[str, Any]] = field(default_factory=list)
    tool_usage_counts: dict[str, int] = field(default_factory=dict)
    workflow_run_id: str | None = None
    workflow_state: dict[str, Any] = field(default_factory=dict)


async def test_kaizen_agentstate_object(store: AgentStateStore) -> None:
    now = datetime.now(timezone.utc)
    state = KaizenAgentState(
        approval_history=[
            {"tool_name": "Bash", "approved": True, "action": "once", "timestamp": now.isoformat(), "input_summary": ""}
        ],
        tool_usage_counts={"Bash": 1},
        workflow_run_id="run_1",
        workflow_state={"run_id": "run_1", "last_updated": now.isoformat()},
    )
    await store.restore_tracking("a1", state)
    got = await _tracking(store, "a1")
    assert got["history"][0]["timestamp"] == now  # Kaizen's microseconds kept
    assert got["counts"] == {"Bash": 1} and got["workflow"]["run_id"] == "run_1"


async def test_decisions_survive_a_history_longer_than_the_cap(store: AgentStateStore) -> None:
    history = [{"tool_name": "Write", "approved": False, "action": "deny_all"}]
    history += [{"tool_name": f"t{i % 7}", "approved": True, "action": "once"} for i in range(1200)]
    await store.restore_tracking("a1", {"approval_history": history})
    got = await _tracking(store, "a1")
    assert len(got["history"]) == 1000 and got["history"][-1]["tool_name"] == f"t{1199 % 7}"
    assert got["decisions"] == {"Write": "denied"}  # its record was trimmed, the decision stays
    ckpt = await AgentTracker(store, "a1").capture_state()
    assert ckpt.standing_decisions == {"Write": "denied"}
    await store.restore_tracking("a2", ckpt)  # by value, past the cap: still denied
    assert await store.get_standing_decision("a2", "Write") == "denied"


async def test_a_replayed_op_id_applies_once_and_a_stale_holder_is_refused(
    store: AgentStateStore, backend: Backend
) -> None:
    state = {"approval_history": [{"tool_name": "Bash", "approved": True, "action": "once"}]}
    args = ["op-1", "", "a1", "", *tracking_args(state, dumps)]
    first = await backend.run("agents/restore_tracking", store._entity_keys("a1"), args)
    await store.record_approval("a1", "Later", True)
    assert await backend.run("agents/restore_tracking", store._entity_keys("a1"), args) == first
    assert [r.tool_name for r in await store.get_approval_history("a1")] == ["Bash", "Later"]

    token = await store.acquire_lease("a1", "owner-a")
    with pytest.raises(LeaseError):
        await store.restore_tracking("a1", state)
    await store.restore_tracking("a1", state, fencing_token=token)
    assert len(await store.get_approval_history("a1")) == 1


BAD_STATES: list[tuple[Any, str]] = [
    (None, "state"),
    ("latest", "state"),
    (b"x", "state"),
    ([1, 2], "state"),
    ({}, "state"),
    ({"foo": 1}, "state"),
    (object(), "state"),
    ({"approval_history": "Bash"}, "approval_history"),
    ({"approval_history": [["Bash", True]]}, r"approval_history\[0\]"),
    ({"approval_history": [{"tool_name": "Bash", "approved": "yes"}]}, "approved"),
    ({"approval_history": [{"tool_name": "", "approved": True}]}, "tool_name"),
    ({"approval_history": [{"tool_name": "Bash", "approved": True, "action": "sometimes"}]}, "action"),
    ({"approval_history": [{"tool_name": "Bash", "approved": True, "timestamp": "yesterday"}]}, "timestamp"),
    ({"approval_history": [{"tool_name": "Bash", "approved": True, "input_summary": 5}]}, "input_summary"),
    ({"approval_history": [{"tool_name": "Bash", "approved": True, "extra": 1}]}, "extra"),
    # a valid record first: a bad one later must still change nothing
    ({"approval_history": [{"tool_name": "Ok", "approved": True}, {"tool_name": "Bash"}]}, "approved"),
    ({"tool_usage_counts": {"Bash": -1}}, "tool_usage_counts"),
    ({"tool_usage_counts": {"Bash": True}}, "tool_usage_counts"),
    ({"tool_usage_counts": {"Bash": 1.5}}, "tool_usage_counts"),
    ({"tool_usage_counts": {"": 1}}, "tool_usage_counts"),
    ({"tool_usage_counts": [("Bash", 1)]}, "tool_usage_counts"),
    ({"workflow_state": {"x": float("nan")}}, "workflow_state"),
    ({"workflow_state": {"x": object()}}, "workflow_state"),
    ({"workflow_state": {1: "x"}}, "workflow_state"),
    ({"workflow_state": {"last_updated": 5}}, "last_updated"),
    ({"workflow_state": "running"}, "workflow_state"),
    ({"workflow_run_id": "r1", "workflow_state": {"run_id": "r2"}}, "workflow_run_id"),
    ({"workflow_run_id": 7}, "workflow_run_id"),
    ({"approval_history": [], "standing_decisions": {"Bash": "maybe"}}, "standing_decisions"),
    ({"tool_usage_counts": {"Bash": 1}, "workflow_state": {"big": "x" * 9_000_000}}, "workflow_state"),
]


@pytest.mark.parametrize(("bad", "named"), BAD_STATES, ids=[f"bad{i}" for i in range(len(BAD_STATES))])
async def test_an_invalid_state_is_refused_and_changes_nothing(
    store: AgentStateStore, backend: Backend, bad: Any, named: str
) -> None:
    await _seed(store)
    keys = store._entity_keys("a1")
    before = {k: await _dump(backend, k) for k in keys}
    with pytest.raises(InvalidInputError, match=named):
        await store.restore_tracking("a1", bad)
    assert {k: await _dump(backend, k) for k in keys} == before


async def _dump(backend: Backend, key: str) -> Any:
    kind = await backend.client.type(key)
    if kind == "stream":
        return [tuple(e[1].items()) for e in await backend.client.xrange(key)]
    if kind == "hash":
        return await backend.client.hgetall(key)
    if kind == "zset":
        return await backend.client.zrange(key, 0, -1, withscores=True)
    return kind


async def test_restore_state_by_id_still_restores_a_stored_checkpoint(store: AgentStateStore) -> None:
    await _seed(store)
    tracker = AgentTracker(store, "a1")
    saved = await tracker.capture_state(step=1, checkpoint_id="c1")
    await store.record_tool_usage("a1", "Read", 10)
    assert await tracker.restore_state("c1") == saved
    assert await store.get_tool_usage_counts("a1") == {"Read": 4}
    assert isinstance(saved, AgentCheckpoint)

"""Agents manager: behaviour on every backend (memory, file, redis)."""

from __future__ import annotations

from datetime import datetime

import pytest

from agentstate_redis import (
    AgentCheckpoint,
    AgentRecoveryManager,
    AgentSnapshot,
    AgentStateStore,
    AgentTracker,
    InvalidInputError,
    LeaseError,
    NotFoundError,
    RecoveryError,
)
from agentstate_redis.backends.base import Backend

from ..cluster_cases import on_cluster
from .stored import SEED_CHECKPOINT_FIELDS, stored_document


@pytest.fixture
def store(backend: Backend) -> AgentStateStore:
    return AgentStateStore(backend=backend, max_snapshots=3, max_checkpoints=3)


@on_cluster
async def test_snapshots_newest_first_with_retention(store: AgentStateStore) -> None:
    for i in range(5):
        saved = await store.save_snapshot(
            AgentSnapshot(
                agent_id="a1",
                memory_state={"i": i},
                conversation_history=[{"role": "user", "n": i}],
                metadata={"task_count": i},
            )
        )
        assert isinstance(saved.saved_at, datetime) and saved.saved_at.tzinfo is not None
    snaps = await store.list_snapshots("a1")
    assert [s.memory_state["i"] for s in snaps] == [4, 3, 2]
    assert isinstance(snaps[0].timestamp, datetime)
    assert await store.delete_snapshot("a1", snaps[0].snapshot_id) is True
    assert await store.delete_snapshot("a1", snaps[0].snapshot_id) is False
    assert [s.memory_state["i"] for s in await store.list_snapshots("a1")] == [3, 2]


@on_cluster
async def test_checkpoint_latest_is_by_step_then_server_order(store: AgentStateStore) -> None:
    await store.save_checkpoint(AgentCheckpoint(agent_id="a1", checkpoint_id="s5", step=5, state={"x": 1}))
    await store.save_checkpoint(AgentCheckpoint(agent_id="a1", checkpoint_id="s2", step=2, state={"x": 2}))
    assert (await store.get_checkpoint("a1", "latest")).checkpoint_id == "s5"
    await store.save_checkpoint(AgentCheckpoint(agent_id="a1", checkpoint_id="s5b", step=5, state={"x": 3}))
    latest = await store.get_checkpoint("a1")
    assert latest.checkpoint_id == "s5b" and latest.step_number == 5 and latest.state == {"x": 3}
    # retention 3: a 4th save drops the oldest by (step, server order): s2
    await store.save_checkpoint(AgentCheckpoint(agent_id="a1", checkpoint_id="s6", step=6))
    assert [c.checkpoint_id for c in await store.list_checkpoints("a1")] == ["s6", "s5b", "s5"]
    with pytest.raises(NotFoundError):
        await store.get_checkpoint("a1", "s2")
    with pytest.raises(NotFoundError):
        await store.get_checkpoint("nobody", "latest")
    assert await store.delete_checkpoint("a1", "s6") is True
    assert (await store.get_checkpoint("a1")).checkpoint_id == "s5b"


@on_cluster
async def test_tracking_and_checkpoint_round_trip(store: AgentStateStore) -> None:
    t = AgentTracker(store, "a1")
    rec = await t.record_approval("Bash", True, "once", {"command": "ls -la"})
    assert rec["input_summary"] == "{'command': 'ls -la'}" and isinstance(rec["timestamp"], datetime)
    await t.record_approval("Write", False, "deny_all")
    await t.record_approval("Read", True, "all", "x" * 500)
    await t.record_tool_usage("Bash")
    await t.record_tool_usage("Read", increment=5)
    wf = await t.update_workflow_state(
        run_id="run_abc123",
        status="running",
        current_node="n1",
        node_results={"n0": {"ok": True, "big": 2**62}},
        retry_count=2,
    )
    assert wf["status"] == "running" and isinstance(wf["last_updated"], datetime)
    wf = await t.update_workflow_state(status="completed")  # partial merge
    assert wf["current_node"] == "n1" and wf["status"] == "completed" and wf["node_results"]["n0"]["big"] == 2**62

    history = await t.get_approval_history()  # recording order, as Kaizen's
    assert [r["tool_name"] for r in history] == ["Bash", "Write", "Read"]
    assert history[-1]["input_summary"] == "x" * 200 + "..."
    newest = await t.get_approval_history(newest_first=True)
    assert newest == history[::-1]
    assert [r.tool_name for r in await store.get_approval_history("a1", limit=2)] == ["Write", "Read"]
    assert [r.tool_name for r in await store.get_approval_history("a1", limit=2, newest_first=True)] == [
        "Read",
        "Write",
    ]
    assert [r["tool_name"] for r in await t.get_approval_history("Bash")] == ["Bash"]
    assert await t.get_standing_decision("Write") == "denied"
    assert await t.get_standing_decision("Read") == "allowed"
    assert await t.get_standing_decision("Bash") == "ask"
    counts = await t.get_tool_usage_counts()
    assert counts == {"Bash": 1, "Read": 5}
    counts["Bash"] = 99  # a copy
    assert (await t.get_tool_usage_counts())["Bash"] == 1

    ckpt = await t.capture_state({"task": "analyze", "tokens": 15000}, step=5, checkpoint_id="c5")
    assert [r.tool_name for r in ckpt.approval_history] == ["Bash", "Write", "Read"]  # recording order
    assert ckpt.standing_decisions == {"Write": "denied", "Read": "allowed"}
    assert ckpt.tool_usage_counts == {"Bash": 1, "Read": 5}
    assert ckpt.workflow_run_id == "run_abc123" and ckpt.workflow_state == await t.get_workflow_state()
    assert isinstance(ckpt.timestamp, datetime) and ckpt.timestamp == ckpt.saved_at

    # change everything, then restore: all tracking comes back, datetimes included
    await t.record_tool_usage("Bash", 10)
    await t.record_approval("Write", True, "all")
    await t.update_workflow_state(run_id="run_other", status="failed")
    restored = await AgentTracker(store, "a1").restore_state("latest")
    assert restored == ckpt
    assert await t.get_tool_usage_counts() == {"Bash": 1, "Read": 5}
    assert [r.model_dump() for r in ckpt.approval_history] == await t.get_approval_history()
    assert await t.get_workflow_state() == ckpt.workflow_state
    assert await t.get_standing_decision("Write") == "denied"


async def test_bad_input_is_rejected_before_writing(store: AgentStateStore) -> None:
    with pytest.raises(InvalidInputError, match="action"):
        await store.record_approval("a1", "Bash", True, "sometimes")
    with pytest.raises(InvalidInputError, match="approved"):
        await store.record_approval("a1", "Bash", 1)  # type: ignore[arg-type]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InvalidInputError, match="increment"):
            await store.record_tool_usage("a1", "Bash", bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="last_updated"):
        await store.update_workflow_state("a1", last_updated="now")
    with pytest.raises(InvalidInputError, match="step"):
        AgentCheckpoint(agent_id="a1", step=-1)
    with pytest.raises(InvalidInputError, match="reserved"):
        await store.save_checkpoint(AgentCheckpoint(agent_id="a1", checkpoint_id="latest"))
    assert await store.get_approval_history("a1") == []
    assert await store.get_tool_usage_counts("a1") == {}
    assert await store.get_workflow_state("a1") == {}


@on_cluster
async def test_lease_fences_writes(store: AgentStateStore) -> None:
    tok = await store.acquire_lease("a1", "owner-a", ttl=30)
    with pytest.raises(LeaseError):
        await store.acquire_lease("a1", "owner-b")
    with pytest.raises(LeaseError):  # no token while a lease is live
        await store.record_tool_usage("a1", "Bash")
    assert await store.record_tool_usage("a1", "Bash", fencing_token=tok) == 1
    saved = await store.save_checkpoint(AgentCheckpoint(agent_id="a1", step=1), fencing_token=tok)
    assert saved.fencing_token == tok
    await store.release_lease("a1", tok)
    tok2 = await store.acquire_lease("a1", "owner-b", ttl=30)
    assert tok2 > tok
    with pytest.raises(LeaseError, match="stale"):
        await store.save_checkpoint(AgentCheckpoint(agent_id="a1", step=2), fencing_token=tok)
    assert (await store.get_checkpoint("a1")).step == 1


@on_cluster
async def test_recovery_skips_non_recoverable_and_limits_attempts(store: AgentStateStore) -> None:
    class Agent:
        id = "a1"

        def __init__(self) -> None:
            self.restored: list[dict] = []

        def restore_from_checkpoint(self, state: dict) -> None:
            self.restored.append(state)

        async def resume(self) -> str:
            return "resumed"

    manager = AgentRecoveryManager(agent_store=store, auto_recover=True, max_recovery_attempts=2)
    agent = Agent()
    manager.register(agent)
    with pytest.raises(RecoveryError, match="no recoverable"):
        await manager.recover("a1")
    await store.save_checkpoint(AgentCheckpoint(agent_id="a1", checkpoint_id="good", step=1, state={"v": 1}))
    await store.save_checkpoint(
        AgentCheckpoint(agent_id="a1", checkpoint_id="bad", step=2, state={"v": 2}, recoverable=False)
    )
    assert (await manager.recover(agent_id="a1", from_checkpoint="latest")).checkpoint_id == "good"
    with pytest.raises(RecoveryError, match="not recoverable"):
        await manager.recover("a1", "bad")
    assert await manager.recover_and_resume("a1") == "resumed"
    assert agent.restored == [{"v": 1}, {"v": 1}]
    with pytest.raises(RecoveryError, match="exhausted"):
        await manager.recover("a1")
    assert await manager.attempts("a1") == 2
    await manager.reset_attempts("a1")
    assert (await manager.recover("a1")).state == {"v": 1}
    with pytest.raises(InvalidInputError):
        manager.register(object())


async def test_events_and_delete_agent(store: AgentStateStore) -> None:
    import asyncio

    seen: list[str] = []
    await store.subscribe_events("a1", lambda ev: seen.append(ev.op))
    await store.record_tool_usage("a1", "Bash")
    await store.save_checkpoint(AgentCheckpoint(agent_id="a1", step=1))
    for _ in range(200):
        if len(seen) >= 2:
            break
        await asyncio.sleep(0.02)
    assert seen[:2] == ["tool_usage", "checkpoint"]
    assert await store.delete_agent("a1") is True
    assert await store.list_checkpoints("a1") == [] and await store.get_tool_usage_counts("a1") == {}


async def test_stored_checkpoint_has_the_kaizen_fields(store: AgentStateStore, backend: Backend) -> None:
    odd = 'Wr"ite\\ü/🙂'
    await store.record_approval("a1", odd, False, "deny_all", {"path": "/tmp/ü"})
    await store.record_tool_usage("a1", odd, 2**40)
    await store.update_workflow_state("a1", run_id="r1", status="running", empty_list=[], empty_obj={})
    saved = await store.save_checkpoint(
        AgentCheckpoint(agent_id="a1", checkpoint_id="ckpt_abc123", step=5, state={"big": 2**62, "empty": []})
    )
    doc = await stored_document(backend, "a1", "ckpt_abc123")
    for field in SEED_CHECKPOINT_FIELDS:
        assert field in doc, field
    assert doc["step_number"] == 5 and doc["state"] == {"big": 2**62, "empty": []}
    assert doc["tool_usage_counts"] == {odd: 2**40}
    assert doc["approval_history"][0]["tool_name"] == odd and doc["approval_history"][0]["approved"] is False
    assert doc["workflow_state"]["empty_list"] == [] and doc["workflow_state"]["empty_obj"] == {}
    assert saved.tool_usage_counts == {odd: 2**40} and await store.get_standing_decision("a1", odd) == "denied"


async def test_a_retried_write_applies_once(store: AgentStateStore, backend: Backend) -> None:
    # What tenacity does after a dropped connection: the same script, same op id, twice.
    keys = store._entity_keys("a1")
    args = ["op-1", "", "a1", "", "Bash", 5]
    assert await backend.run("agents/record_tool_usage", keys, args) == "5"
    assert await backend.run("agents/record_tool_usage", keys, args) == "5"
    ckpt_args = ["op-2", "", "a1", "", "c1", 1, 1, '{"checkpoint_id":"c1","agent_id":"a1","step_number":1}', 1, 10]
    first = await backend.run("agents/save_checkpoint", keys, ckpt_args)
    assert await backend.run("agents/save_checkpoint", keys, ckpt_args) == first
    assert await store.get_tool_usage_counts("a1") == {"Bash": 5}
    stored = await store.list_checkpoints("a1")
    assert len(stored) == 1 and stored[0].sequence == 1

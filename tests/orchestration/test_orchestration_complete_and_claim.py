"""complete_and_claim on every backend: one script accepts a completion and claims the holder's
next task (what BullMQ's worker does), with claim_task's capability, priority and lease rules."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentstate_redis import (
    AgentCoordinationState,
    InvalidInputError,
    InvalidTransitionError,
    LeaseError,
    OrchestrationStateManager,
)

from ..waiting import eventually

TEAM = "cc_team"


async def test_completion_accepted_and_next_task_claimed_with_a_new_token(orch: OrchestrationStateManager) -> None:
    seen: list[tuple[str, Any, Any]] = []
    await orch.subscribe_events(TEAM, lambda e: seen.append((e.op, e.data.get("task"), e.data.get("token"))))
    await orch.enqueue_tasks(TEAM, [{"id": "a"}, {"id": "b", "data": {"n": 2}}])
    first = await orch.claim_task(TEAM, "w", lease=30)
    assert first is not None and first.id == "a"

    nxt = await orch.complete_and_claim(TEAM, "a", {"ok": 1}, token=first.token, lease=20)

    assert nxt is not None and nxt.id == "b" and nxt.data == {"n": 2}
    assert nxt.status == "in_progress" and nxt.agent_id == "w" and nxt.token > first.token
    assert nxt.lease_until is not None and nxt.started_at is not None
    assert 19 <= nxt.lease_until - nxt.started_at <= 21
    done = await orch.get_task(TEAM, "a")
    assert done.status == "completed" and done.result == {"ok": 1} and done.completed_by == "w"
    agent = (await orch.get_team(TEAM)).agents["w"]
    assert agent.status == "working" and agent.current_task == "b"
    queue = await orch.get_queue_status(TEAM)
    assert (queue.pending_count, queue.in_progress_count, queue.completed_total) == (0, 1, 1)
    # the old token no longer finishes anything; the new one does
    with pytest.raises(LeaseError):
        await orch.complete_task(TEAM, "b", {}, token=first.token)
    assert await orch.complete_and_claim(TEAM, "b", {"ok": 2}, token=nxt.token) is None
    await eventually(lambda: len(seen) >= 5, what="five events")
    assert [(op, task) for op, task, _ in seen] == [
        ("enqueue", None),
        ("claim", "a"),
        ("complete", "a"),
        ("claim", "b"),
        ("complete", "b"),
    ]
    assert seen[3][2] == nxt.token


async def test_a_stale_token_is_refused_and_nothing_is_claimed(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": "a", "priority": "high"}, {"id": "b"}])
    slow = await orch.claim_task(TEAM, "slow", lease=0.2)
    assert slow is not None and slow.id == "a"
    await asyncio.sleep(0.4)  # the lease runs out
    fast = await orch.claim_task(TEAM, "fast", lease=30)
    assert fast is not None and fast.id == "a" and fast.token > slow.token
    with pytest.raises(LeaseError):
        await orch.complete_and_claim(TEAM, "a", {"by": "slow"}, token=slow.token)
    with pytest.raises(LeaseError):  # the holder must match the agent given
        await orch.complete_and_claim(TEAM, "a", {}, token=fast.token, agent_id="slow")
    with pytest.raises(LeaseError):  # a claimed task needs its token
        await orch.complete_and_claim(TEAM, "a", {})
    queue = await orch.get_queue_status(TEAM)
    assert [t.id for t in queue.pending] == ["b"] and queue.in_progress_count == 1
    assert (await orch.get_task(TEAM, "b")).status == "pending"
    with pytest.raises(InvalidTransitionError):  # not in progress: refused, nothing claimed
        await orch.complete_and_claim(TEAM, "b", {})
    assert (await orch.get_queue_status(TEAM)).pending_count == 1


async def test_capability_and_priority_rules_are_those_of_claim_task(orch: OrchestrationStateManager) -> None:
    await orch.register_agent(TEAM, AgentCoordinationState(agent_id="writer", capabilities=["writing"]))
    await orch.enqueue_tasks(
        TEAM,
        [
            {"id": "first", "type": "writing", "priority": 999},
            {"id": "r", "type": "research", "priority": "high"},
            {"id": "w", "type": "writing"},
            {"id": "any", "type": "research", "capability": None, "priority": "low"},
            {"id": "c", "type": "misc", "capability": "writing", "priority": "low"},
            {"id": "w2", "type": "writing", "priority": "high"},
        ],
    )
    task = await orch.claim_task(TEAM, "writer")
    assert task is not None and task.id == "first"
    got = []
    while task is not None:  # registered capabilities when none are passed
        task = await orch.complete_and_claim(TEAM, task.id, None, token=task.token)
        if task is not None:
            got.append(task.id)
    assert got == ["w2", "w", "any", "c"]
    assert (await orch.get_team(TEAM)).agents["writer"].status == "idle"
    # given capabilities replace the registered ones, as in claim_task
    await orch.enqueue_tasks(TEAM, [{"id": "e", "type": "editing"}, {"id": "w3", "type": "writing"}])
    other = await orch.claim_task(TEAM, "other", capabilities=["research"])
    assert other is not None and other.id == "r"
    assert await orch.complete_and_claim(TEAM, "r", 1, token=other.token, capabilities=["research"]) is None
    await orch.enqueue_task(TEAM, {"id": "r2", "type": "research"})
    mine = await orch.claim_task(TEAM, "other", capabilities=["research"])
    assert mine is not None and mine.id == "r2"
    nxt = await orch.complete_and_claim(TEAM, "r2", 1, token=mine.token, agent_id="other", capabilities=["editing"])
    assert nxt is not None and nxt.id == "e" and nxt.agent_id == "other"
    with pytest.raises(InvalidInputError):
        await orch.complete_and_claim(TEAM, "e", 1, token=nxt.token, capabilities=["bad cap\n"])
    with pytest.raises(InvalidInputError):
        await orch.complete_and_claim(TEAM, "e", 1, token=nxt.token, lease=-1)
    assert (await orch.get_task(TEAM, "e")).status == "in_progress"  # refused before any script ran


async def test_nothing_pending_returns_none_and_the_agent_is_idle(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "only"})
    task = await orch.claim_task(TEAM, "w")
    assert task is not None
    assert await orch.complete_and_claim(TEAM, "only", {"r": 1}, token=task.token, agent_id="w") is None
    assert (await orch.get_task(TEAM, "only")).status == "completed"
    agent = (await orch.get_team(TEAM)).agents["w"]
    assert agent.status == "idle" and agent.current_task is None


async def test_an_assigned_task_claims_for_its_holder(orch: OrchestrationStateManager) -> None:
    await orch.register_agent(TEAM, AgentCoordinationState(agent_id="researcher"))
    await orch.enqueue_tasks(TEAM, [{"id": "t1"}, {"id": "t2"}])
    await orch.assign_task(TEAM, "t1", "researcher")
    nxt = await orch.complete_and_claim(TEAM, "t1", {"done": True})  # no token, no agent: the holder's
    assert nxt is not None and nxt.id == "t2" and nxt.agent_id == "researcher"
    assert (await orch.get_task(TEAM, "t1")).completed_by == "researcher"


async def test_a_replayed_op_id_returns_the_same_result(orch: OrchestrationStateManager, monkeypatch: Any) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": "a"}, {"id": "b"}, {"id": "c"}])
    task = await orch.claim_task(TEAM, "w", lease=30)
    assert task is not None
    monkeypatch.setattr(orch, "_op_id", lambda: "op-cc-1")
    first = await orch.complete_and_claim(TEAM, "a", {"x": 1}, token=task.token)
    again = await orch.complete_and_claim(TEAM, "a", {"x": 1}, token=task.token)  # a retried call
    assert first is not None and again is not None
    assert (again.id, again.token, again.agent_id) == (first.id, first.token, first.agent_id) == ("b", first.token, "w")
    queue = await orch.get_queue_status(TEAM)
    assert (queue.pending_count, queue.in_progress_count, queue.completed_total) == (1, 1, 1)
    # an empty claim is replayed as empty too, even when a task arrived since
    monkeypatch.undo()
    await orch.complete_task(TEAM, "b", None, token=first.token)
    last = await orch.claim_task(TEAM, "w")
    assert last is not None and last.id == "c"
    monkeypatch.setattr(orch, "_op_id", lambda: "op-cc-2")
    assert await orch.complete_and_claim(TEAM, "c", None, token=last.token) is None
    monkeypatch.undo()
    await orch.enqueue_task(TEAM, {"id": "d"})
    monkeypatch.setattr(orch, "_op_id", lambda: "op-cc-2")
    assert await orch.complete_and_claim(TEAM, "c", None, token=last.token) is None
    assert (await orch.get_queue_status(TEAM)).pending_count == 1
    assert (await orch.get_task(TEAM, "c")).completed_by == "w"

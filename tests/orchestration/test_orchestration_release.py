"""release_task on every backend: back to pending in its place, fencing, retries, events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentstate_redis import (
    AgentCoordinationState,
    InvalidTransitionError,
    LeaseError,
    NotFoundError,
    OrchestrationStateManager,
)

TEAM = "release_team"


async def test_release_puts_the_task_back_in_its_place(orch: OrchestrationStateManager) -> None:
    for i, prio in enumerate(["high", "normal", "normal"]):
        await orch.enqueue_task(TEAM, {"id": f"t{i}", "type": "analysis", "priority": prio})
    task = await orch.claim_task(TEAM, "w1", lease=30)
    assert task is not None and task.id == "t0"

    released = await orch.release_task(TEAM, task.id, token=task.token)
    assert released.status == "pending"
    assert released.agent_id is None and released.failures == 0 and released.stalls == 0
    queue = await orch.get_queue_status(TEAM)
    assert [t.id for t in queue.pending] == ["t0", "t1", "t2"]  # first in line again
    assert queue.in_progress_count == 0
    agent = (await orch.get_team(TEAM)).agents["w1"]
    assert agent.status == "idle" and agent.current_task is None

    again = await orch.claim_task(TEAM, "w2", lease=30)
    assert again is not None and again.id == "t0" and again.token > task.token
    with pytest.raises(LeaseError):  # the releaser's token is dead
        await orch.complete_task(TEAM, task.id, {"late": True}, token=task.token)
    done = await orch.complete_task(TEAM, again.id, {"ok": True}, token=again.token)
    assert done.status == "completed" and done.completed_by == "w2"


async def test_release_is_fenced_and_checked(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "t1"})
    task = await orch.claim_task(TEAM, "w1", lease=30)
    assert task is not None
    with pytest.raises(LeaseError):  # a claimed task needs its token
        await orch.release_task(TEAM, task.id)
    with pytest.raises(LeaseError):
        await orch.release_task(TEAM, task.id, token=task.token + 1)
    with pytest.raises(LeaseError):
        await orch.release_task(TEAM, task.id, agent_id="w2", token=task.token)
    await orch.release_task(TEAM, task.id, agent_id="w1", token=task.token)
    with pytest.raises(LeaseError):  # twice: the token is stale now
        await orch.release_task(TEAM, task.id, token=task.token)
    with pytest.raises(InvalidTransitionError):  # pending, no token: not in progress
        await orch.release_task(TEAM, task.id)
    with pytest.raises(NotFoundError):
        await orch.release_task(TEAM, "nope", token=1)
    with pytest.raises(NotFoundError):
        await orch.release_task("no_team", "t1", token=1)


async def test_release_of_an_assigned_task(orch: OrchestrationStateManager) -> None:
    await orch.register_agent(TEAM, AgentCoordinationState(agent_id="w1"))
    await orch.enqueue_task(TEAM, {"id": "t1"})
    await orch.assign_task(TEAM, "t1", "w1")
    released = await orch.release_task(TEAM, "t1")  # assigned without a lease: no token needed
    assert released.status == "pending"


async def test_a_retried_release_applies_once(orch: OrchestrationStateManager, monkeypatch: Any) -> None:
    await orch.enqueue_task(TEAM, {"id": "t1"})
    task = await orch.claim_task(TEAM, "w1", lease=30)
    assert task is not None
    monkeypatch.setattr(orch, "_op_id", lambda: "fixed-op-id")
    first = await orch.release_task(TEAM, task.id, token=task.token)
    second = await orch.release_task(TEAM, task.id, token=task.token)  # the same op id: replayed
    assert first.status == second.status == "pending"
    assert (await orch.get_queue_status(TEAM)).pending_count == 1


async def test_release_publishes_an_event_and_wakes_a_waiting_claim(orch: OrchestrationStateManager) -> None:
    seen: list[Any] = []
    await orch.subscribe_events(TEAM, seen.append)
    await orch.enqueue_task(TEAM, {"id": "t1"})
    task = await orch.claim_task(TEAM, "w1", lease=30)
    assert task is not None
    waiter = asyncio.ensure_future(orch.claim_task(TEAM, "w2", lease=30, wait=5))
    await asyncio.sleep(0.2)
    await orch.release_task(TEAM, task.id, token=task.token)
    claimed = await asyncio.wait_for(waiter, 5)
    assert claimed is not None and claimed.id == "t1" and claimed.agent_id == "w2"
    for _ in range(50):
        if any(e.op == "release" for e in seen):
            break
        await asyncio.sleep(0.05)
    release = [e for e in seen if e.op == "release"]
    assert release and release[0].data["task"] == "t1" and release[0].data["agent"] == "w1"

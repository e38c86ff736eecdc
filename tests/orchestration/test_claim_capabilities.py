"""A claim with many capabilities (the agent's or given) finds the best task among all of them: the
queues it reads are those :caps names, in chunks, and a task put back re-enters :caps."""

from __future__ import annotations

from agentstate_redis import AgentCoordinationState, OrchestrationStateManager

TEAM = "caps_team"
CAPS = [f"cap{i:04d}" for i in range(1200)]  # past the 500 a chunk holds, twice


async def test_the_best_task_across_many_capabilities(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(
        TEAM,
        [
            {"id": "low", "type": "x", "capability": CAPS[3], "priority": "low"},
            {"id": "high", "type": "x", "capability": CAPS[700], "priority": "high"},
            {"id": "normal", "type": "x", "capability": CAPS[1199], "priority": "normal"},
            {"id": "elsewhere", "type": "x", "capability": "not-mine", "priority": 1000},
        ],
    )
    order = []
    for _ in range(3):
        task = await orch.claim_task(TEAM, "w", capabilities=CAPS)
        assert task is not None
        order.append(task.id)
    assert order == ["high", "normal", "low"]
    assert await orch.claim_task(TEAM, "w", capabilities=CAPS) is None


async def test_registered_capabilities_and_a_task_put_back(orch: OrchestrationStateManager) -> None:
    await orch.register_agent(TEAM, AgentCoordinationState(agent_id="many", capabilities=CAPS[:50]))
    await orch.enqueue_task(TEAM, {"id": "t", "type": "x", "capability": CAPS[49]})
    first = await orch.claim_task(TEAM, "many")
    assert first is not None and first.id == "t"
    await orch.release_task(TEAM, "t", token=first.token)  # its queue was empty: :caps learns it again
    again = await orch.claim_task(TEAM, "many")
    assert again is not None and again.id == "t" and again.attempts == 2

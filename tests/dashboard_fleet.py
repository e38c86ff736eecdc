"""A small fleet seeded through the public managers, for the dashboard's tests (and its screenshots).

>>> seeded = await seed(backend)      # or: python -m tests.dashboard_fleet REDIS_URL PREFIX
>>> seeded.dead_task
'poison-<b>1</b>'
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from agentstate_redis import (
    AgentStateStore,
    AgentTracker,
    OrchestrationStateManager,
    RetryState,
    StepState,
    TeamState,
    ToolExecution,
    ToolStateManager,
    WorkflowState,
    WorkflowStateManager,
)
from agentstate_redis.orchestration import AgentCoordinationState


@dataclass
class Seeded:
    teams: tuple[str, ...] = ("alpha", "beta")
    dead_task: str = "poison-<b>1</b>"  # markup in an id: pages must show it as text
    running_task: str = "task-02"
    worker: str = "worker-1"
    workflows: tuple[str, ...] = ("wf-running", "wf-paused", "wf-done")
    tool: str = "search_web"


async def seed(backend) -> Seeded:  # type: ignore[no-untyped-def]
    s = Seeded()
    orch = OrchestrationStateManager(backend=backend, lease=600)
    await orch.create_team(
        TeamState(
            team_id="alpha",
            agents={
                s.worker: AgentCoordinationState(agent_id=s.worker, capabilities=["research"]),
                "worker-2": AgentCoordinationState(agent_id="worker-2", capabilities=["write", "research"]),
            },
        )
    )
    await orch.create_team("beta")
    await orch.enqueue_tasks(
        "alpha",
        [
            {
                "id": f"task-{i:02d}",
                "type": "research",
                "priority": "high" if i < 3 else "normal",
                "data": {"topic": f"topic {i}"},
            }
            for i in range(1, 9)
        ],
    )
    await orch.enqueue_task("alpha", {"id": s.dead_task, "type": "research", "max_attempts": 1, "data": {"bad": True}})
    await orch.enqueue_tasks("beta", [{"id": f"b-{i}", "data": i} for i in range(3)])
    done = await orch.claim_task("alpha", s.worker)
    assert done is not None and done.id == "task-01"
    await orch.complete_task("alpha", done.id, {"summary": "finished"}, token=done.token)
    held = await orch.claim_task("alpha", s.worker)
    assert held is not None and held.id == s.running_task
    await orch.heartbeat("alpha", s.worker)
    # the poisoned task: claimed until it is the one held, then failed past its attempts
    poisoned = await orch.assign_task("alpha", s.dead_task, "worker-2")
    await orch.fail_task(
        "alpha", poisoned.id, "ToolDown: <script>alert(1)</script> search_web unreachable", token=poisoned.token
    )

    wf = WorkflowStateManager(backend=backend, checkpoint_interval=2)
    for workflow_id in s.workflows:
        await wf.create(
            WorkflowState(
                workflow_id=workflow_id, name=f"pipeline {workflow_id}", total_steps=3, context={"source": "docs"}
            )
        )
        await wf.start(workflow_id)
    for step in (1, 2):
        await wf.update_step(
            "wf-running", StepState(step_number=step, name=f"step {step}", status="completed", duration_ms=120 * step)
        )
    await wf.pause("wf-paused")
    for step in (1, 2, 3):
        await wf.update_step("wf-done", StepState(step_number=step, status="completed"))

    store = AgentStateStore(backend=backend)
    tracker = AgentTracker(store, s.worker)
    await tracker.record_approval("Bash", True, "once", {"command": "ls -la"})
    await tracker.record_approval("Write", False, "deny_all")
    await tracker.record_tool_usage(s.tool, increment=4)
    await tracker.update_workflow_state(run_id="run-1", status="running", current_node="research")
    await tracker.capture_state({"current_task": s.running_task}, step=2, checkpoint_id="step-2")

    tools = ToolStateManager(backend=backend)
    for i, ok in enumerate((True, True, False)):
        await tools.start_execution(ToolExecution(execution_id=f"exec-{i}", tool_name=s.tool, parameters={"q": i}))
        if ok:
            await tools.complete_execution(execution_id=f"exec-{i}", result={"hits": i}, duration_ms=40)
        else:
            await tools.fail_execution(execution_id=f"exec-{i}", error="timeout")

    async def compute() -> dict[str, int]:
        return {"hits": 9}

    await tools.get_or_compute(s.tool, {"q": "cached"}, compute)  # a miss, computed
    await tools.get_or_compute(s.tool, {"q": "cached"}, compute)  # a hit
    await tools.update_retry_state(
        RetryState(execution_id="exec-2", tool_name=s.tool, attempts=1, max_attempts=3, last_error="timeout"),
        delay=3600,
    )
    return s


def main() -> None:
    """Seed the fleet on REDIS_URL under PREFIX (the browser test runs it before the dashboard)."""
    from agentstate_redis.backends.redis import RedisBackend

    async def run() -> None:
        backend = RedisBackend(sys.argv[1], key_prefix=sys.argv[2])
        try:
            await seed(backend)
        finally:
            await backend.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()

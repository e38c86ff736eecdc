"""Worker functions for the sync multi-process tests: one face of the library per process."""

from __future__ import annotations

import asyncio
from typing import Any

from agentstate_redis import AgentStateStore as AsyncAgentStateStore
from agentstate_redis import AgentStateTracking as AsyncAgentStateTracking
from agentstate_redis import CapturedState, sync


class SyncAgent(sync.AgentStateTracking):
    def __init__(self, store: Any, agent_id: str) -> None:
        self.current_step = 0
        self.init_state_tracking(store, agent_id)


class AsyncAgent(AsyncAgentStateTracking):
    def __init__(self, store: Any, agent_id: str) -> None:
        self.current_step = 0
        self.init_state_tracking(store, agent_id)


def record_with_sync_mixin(redis_url: str, prefix: str, agent_id: str, steps: int) -> dict[str, Any]:
    """A synchronous agent loop: approvals, usage, workflow updates, a capture every 10 steps, then more."""
    store = sync.AgentStateStore(persistence="redis", redis_url=redis_url, key_prefix=prefix)
    agent = SyncAgent(store, agent_id)
    agent.update_workflow_state(run_id="run_1", status="running")
    captured = None
    for step in range(1, steps + 1):
        agent.current_step = step
        agent.record_approval("Bash", step % 3 != 0, "once", {"command": f"step {step}"})
        agent.record_tool_usage("LLM", increment=2)
        agent.update_workflow_state(current_node=f"n{step}", node_results={f"n{step}": {"ok": True}})
        if step % 10 == 0:
            captured = agent._capture_state(state={"step": step})
    agent.record_approval("Write", False, "deny_all")  # after the last capture: live only
    agent.record_tool_usage("Read")
    out = {
        "captured": captured.to_dict() if captured else None,
        "history": agent._get_approval_history(),
        "counts": agent._get_tool_usage_counts(),
        "workflow": agent._get_workflow_state(),
    }
    store.close()  # a forgotten close would do too; this one is explicit
    return out


def resume_with_async_api(redis_url: str, prefix: str, agent_id: str, new_agent_id: str) -> dict[str, Any]:
    """Another process, async: read the live state and the latest checkpoint, resume a new agent from it."""

    async def main() -> dict[str, Any]:
        async with AsyncAgentStateStore(persistence="redis", redis_url=redis_url, key_prefix=prefix) as store:
            agent = AsyncAgent(store, agent_id)
            live = {
                "history": await agent._get_approval_history(),
                "counts": await agent._get_tool_usage_counts(),
                "workflow": await agent._get_workflow_state(),
            }
            latest = CapturedState.from_checkpoint(await store.get_checkpoint(agent_id, "latest"))
            resumed = AsyncAgent(store, new_agent_id)
            await resumed._restore_state(latest.to_dict())
            return {
                **live,
                "captured": latest.to_dict(),
                "resumed_step": resumed.current_step,
                "resumed": {
                    "history": await resumed._get_approval_history(),
                    "counts": await resumed._get_tool_usage_counts(),
                    "workflow": await resumed._get_workflow_state(),
                    "write": await store.get_standing_decision(new_agent_id, "Write"),
                },
            }

    return asyncio.run(main())

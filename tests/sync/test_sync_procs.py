"""Two processes, two faces (issue 19): one records through the sync mixin, the other resumes through the async API.

Process A is a synchronous agent loop (``agentstate_redis.sync.AgentStateTracking``): 30 steps of
approvals, usage and workflow updates, a checkpoint every 10 steps, then a deny_all and one more
use after the last checkpoint. Process B (``asyncio``, the async mixin and store) then reads the
live state and the latest checkpoint, and resumes a new agent from that checkpoint. Proved: B's
view equals A's exactly (records, timestamps, order, counts, workflow state, the captured document),
and the resumed agent has the checkpoint's state, not the later live one.
"""

from __future__ import annotations

from ..procs import run_processes
from ..workers_sync import record_with_sync_mixin, resume_with_async_api


def test_sync_recorder_and_async_resumer_agree_exactly(redis_url: str, prefix: str) -> None:
    [a] = run_processes(record_with_sync_mixin, [(redis_url, prefix, "agent-a", 30)])
    [b] = run_processes(resume_with_async_api, [(redis_url, prefix, "agent-a", "agent-b")])
    assert len(a["history"]) == 31 and a["history"][-1]["tool_name"] == "Write"
    assert b["history"] == a["history"] and b["counts"] == a["counts"] == {"LLM": 60, "Read": 1}
    assert b["workflow"] == a["workflow"] and a["workflow"]["current_node"] == "n30"
    assert b["captured"] == a["captured"] and a["captured"]["step_number"] == 30
    assert a["captured"]["state"] == {"step": 30}
    resumed = b["resumed"]
    assert resumed["history"] == a["captured"]["approval_history"] == a["history"][:30]
    assert resumed["counts"] == {"LLM": 60} and resumed["write"] == "ask"
    assert resumed["workflow"] == a["captured"]["workflow_state"] and b["resumed_step"] == 30

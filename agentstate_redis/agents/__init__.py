"""Agents: snapshots, checkpoints, recovery, and approval / tool-usage / workflow-state tracking.

>>> from agentstate_redis.agents import AgentStateStore, AgentCheckpoint, AgentTracker
>>> store = AgentStateStore(persistence="redis", redis_url="redis://localhost:6379")
>>> tracker = AgentTracker(store, "researcher_01")
>>> await tracker.record_tool_usage("Bash")
>>> await store.save_checkpoint(AgentCheckpoint(agent_id="researcher_01", step=1, state={"n": 1}))
"""

from .captured import CapturedState
from .lineage import CheckpointNode, CheckpointTree
from .models import AgentCheckpoint, AgentSnapshot, ApprovalRecord
from .recovery import AgentRecoveryManager
from .store import AgentStateStore
from .tracker import AgentTracker
from .tracking import AgentStateTracking

__all__ = [
    "AgentCheckpoint",
    "AgentRecoveryManager",
    "AgentSnapshot",
    "AgentStateStore",
    "AgentStateTracking",
    "AgentTracker",
    "ApprovalRecord",
    "CapturedState",
    "CheckpointNode",
    "CheckpointTree",
]

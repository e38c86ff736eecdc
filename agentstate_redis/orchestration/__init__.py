"""Team coordination and the team task queue: OrchestrationStateManager and its models."""

from .counters import TeamCounters, WakeupHistogram
from .flows import Flow, FlowNode
from .limits import TeamLimits
from .manager import OrchestrationStateManager
from .models import (
    PRIORITIES,
    AgentCoordinationState,
    Backoff,
    ClaimedTask,
    Task,
    TaskQueueState,
    TeamState,
)
from .schedules import Schedule

__all__ = [
    "PRIORITIES",
    "AgentCoordinationState",
    "Backoff",
    "ClaimedTask",
    "Flow",
    "FlowNode",
    "OrchestrationStateManager",
    "Schedule",
    "Task",
    "TaskQueueState",
    "TeamCounters",
    "TeamLimits",
    "TeamState",
    "WakeupHistogram",
]

"""agentstate-redis: shared state for fleets of AI agents, on Redis.

    >>> from agentstate_redis import StateManager, StateConfig
    >>> state = StateManager(config=StateConfig(backend="redis", redis_url="redis://localhost:6379"))
    >>> await state.save("agent:researcher", {"status": "running"})

Every name the seed document imports from ``agenticaiframework.state`` is
importable from here; the managers' modules load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from .backends import Backend, FileBackend, MemoryBackend, RedisBackend
from .config import StateConfig
from .embedded import EmbeddedRedis
from .errors import (
    AccessDeniedError,
    AgentStateError,
    AlreadyExistsError,
    BackendLockedError,
    BackendOutOfMemoryError,
    BackendUnavailableError,
    EvictionPolicyError,
    InvalidInputError,
    InvalidTransitionError,
    LeaseError,
    NotFoundError,
    OutcomeUnknownError,
    RecoveryError,
    TaskCancelledError,
    TLSVerificationError,
    VersionConflictError,
)
from .events import ChangeEvent, OmittedValue
from .state import StateEntry, StateManager
from .subscription import Gap, Subscription

__version__ = "0.1.0"

_MANAGER_EXPORTS = {
    "agents": [
        "AgentStateStore",
        "AgentSnapshot",
        "AgentCheckpoint",
        "AgentRecoveryManager",
        "AgentTracker",
        "ApprovalRecord",
        "AgentStateTracking",
        "CapturedState",
        "CheckpointNode",
        "CheckpointTree",
    ],
    "workflows": ["WorkflowStateManager", "WorkflowState", "WorkflowStatus", "StepState", "WorkflowCheckpoint"],
    "orchestration": [
        "OrchestrationStateManager",
        "TeamState",
        "AgentCoordinationState",
        "TaskQueueState",
        "Schedule",
        "Flow",
        "FlowNode",
    ],
    "knowledge": [
        "KnowledgeStateManager",
        "IndexingProgress",
        "IndexingStatus",
        "SyncStatus",
        "SourceState",
        "KnowledgeBaseState",
    ],
    "tools": ["ToolStateManager", "ToolExecution", "ToolExecutionStatus", "ToolCacheEntry", "RetryState", "ToolStats"],
    "speech": [
        "SpeechStateManager",
        "AudioSessionStatus",
        "StreamingMode",
        "STTState",
        "TranscriptionStatus",
        "TTSState",
        "VoiceConversationState",
    ],
}
_LAZY = {name: module for module, names in _MANAGER_EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentstate_redis' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "AccessDeniedError",
    "AgentStateError",
    "AlreadyExistsError",
    "Backend",
    "BackendLockedError",
    "BackendOutOfMemoryError",
    "BackendUnavailableError",
    "ChangeEvent",
    "EmbeddedRedis",
    "EvictionPolicyError",
    "FileBackend",
    "Gap",
    "InvalidInputError",
    "InvalidTransitionError",
    "LeaseError",
    "MemoryBackend",
    "NotFoundError",
    "OmittedValue",
    "OutcomeUnknownError",
    "RecoveryError",
    "RedisBackend",
    "StateConfig",
    "StateEntry",
    "StateManager",
    "Subscription",
    "TLSVerificationError",
    "TaskCancelledError",
    "VersionConflictError",
    *_LAZY,
]

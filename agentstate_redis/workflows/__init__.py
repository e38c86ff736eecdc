"""Workflows: step tracking, automatic checkpoints, pause/resume/cancel enforced in Redis.

>>> from agentstate_redis.workflows import WorkflowStateManager, WorkflowState, StepState
>>> wf = WorkflowStateManager(persistence="redis", checkpoint_interval=5)
>>> await wf.create(WorkflowState(workflow_id="research_pipeline", total_steps=10))
"""

from .manager import WorkflowStateManager, to_workflow_event
from .models import StepState, StepStatus, WorkflowCheckpoint, WorkflowEvent, WorkflowState, WorkflowStatus

__all__ = [
    "StepState",
    "StepStatus",
    "WorkflowCheckpoint",
    "WorkflowEvent",
    "WorkflowState",
    "WorkflowStateManager",
    "WorkflowStatus",
    "to_workflow_event",
]

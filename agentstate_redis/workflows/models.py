"""The workflow models: WorkflowStatus, StepState, WorkflowState, WorkflowCheckpoint, WorkflowEvent.

    >>> state = WorkflowState(workflow_id="research_pipeline", status=WorkflowStatus.PENDING,
    ...                       total_steps=10, current_step=0, context={})
    >>> step = StepState(step_number=1, name="data_collection", status="completed",
    ...                  result={"documents": 150}, duration_ms=5400)

Fields the server owns (version, completed_steps, timestamps, error, ...) are
filled in from the stored workflow and ignored by ``create``.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import Field

from ..model import Model

#: The most steps a workflow may have.
MAX_STEPS = 100_000
#: The longest checkpoint id, in characters.
CHECKPOINT_ID_MAX = 256


class WorkflowStatus(str, Enum):
    """pending -> running -> paused <-> running -> completed | failed | cancelled."""

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Completed or cancelled: nothing moves it any more (a failed one can resume_from)."""
        return self in (WorkflowStatus.COMPLETED, WorkflowStatus.CANCELLED)

    def __str__(self) -> str:
        return f"WorkflowStatus.{self.name}"


class StepStatus(str, Enum):
    """A step's status; ``completed`` and ``skipped`` count as done."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class StepState(Model):
    """One step's progress, as sent to ``update_step``.

    A ``failed`` step fails the whole workflow unless ``retry=True`` (the worker
    will try it again; the workflow keeps running).
    """

    step_number: int = Field(ge=1, le=MAX_STEPS)
    name: str | None = None
    status: StepStatus = StepStatus.PENDING
    result: Any = None
    duration_ms: int | None = Field(None, ge=0)
    error: str | None = None
    retry: bool = False


class WorkflowState(Model):
    """A workflow as stored. ``current_step`` is the highest n with steps 1..n all done."""

    workflow_id: str = Field(min_length=1, max_length=1024)
    status: WorkflowStatus = WorkflowStatus.PENDING
    total_steps: int = Field(ge=1, le=MAX_STEPS)
    current_step: int = Field(0, ge=0, le=MAX_STEPS)
    context: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    #: Automatic checkpoint every N completed steps (None = the manager's setting, 0 = off).
    checkpoint_interval: int | None = Field(None, ge=0)
    # -- owned by the server ------------------------------------------------------------------
    completed_steps: int = 0
    version: int = 0
    error: str | None = None
    failed_step: int | None = None
    cancel_reason: str | None = None
    restored_from: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    restored_at: datetime | None = None


class WorkflowCheckpoint(Model):
    """A named resume point: the step to resume after and the context to restore.

    ``timestamp`` is set from the server's clock when stored (a caller's value is
    not kept). ``state`` is what the caller passed, or the stored workflow at the
    time (for automatic checkpoints, whose ids are ``auto-<completed steps>``).
    """

    workflow_id: str = Field(min_length=1, max_length=1024)
    checkpoint_id: str = Field(min_length=1, max_length=CHECKPOINT_ID_MAX)
    step: int | None = Field(None, ge=0, le=MAX_STEPS)
    state: WorkflowState | dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    timestamp: datetime | None = None
    automatic: bool = False


class WorkflowEvent(Model):
    """A change to a workflow seen by ``subscribe`` (from any process).

    ``op`` is create, start, step, pause, resume, cancel, checkpoint, resume_from,
    lease or expired. ``status``/``previous_status`` show the transition (equal
    for a step that does not change it; a step that finishes or fails the workflow
    has ``status`` completed/failed). ``step_number`` is the step of a ``step`` event
    or the checkpoint's step of ``checkpoint``/``resume_from``; ``checkpoint_id`` is
    set when a step wrote an automatic checkpoint. ``omitted`` names the fields left out of an
    event larger than the backend's ``max_event_bytes`` (with their sizes in bytes); read the
    workflow with ``get`` for them.
    """

    workflow_id: str
    op: str
    version: int | None = None
    status: WorkflowStatus | None = None
    previous_status: WorkflowStatus | None = None
    current_step: int | None = None
    completed_steps: int | None = None
    step_number: int | None = None
    step_status: StepStatus | None = None
    checkpoint_id: str | None = None
    reason: str | None = None
    timestamp: datetime | None = None
    omitted: dict[str, int] = Field(default_factory=dict)

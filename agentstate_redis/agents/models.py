"""The agent manager's pydantic models: snapshots, checkpoints and approval records.

    >>> AgentCheckpoint(agent_id="researcher_01", checkpoint_id="task_step_5", step=5,
    ...                 state={"tokens_used": 15000}, recoverable=True)
    >>> ApprovalRecord(tool_name="Bash", approved=True, action="once", timestamp=now)

A stored checkpoint is the JSON document of the Kaizen "Checkpoint Data
Structure" (checkpoint_id, agent_id, timestamp, step_number, approval_history in
recording order, tool_usage_counts, workflow_run_id, workflow_state, parent_checkpoint_id) plus the standing
decisions, the caller's ``state``/``metadata`` and server-side fields (``saved_at``,
``sequence``, ``fencing_token``). The tracking fields are captured by the saving script;
values the caller puts there are ignored on save.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import Field

from ..codec import loads
from ..model import Model

ApprovalAction = Literal["once", "all", "deny_all"]
StandingDecision = Literal["allowed", "denied", "ask"]


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ApprovalRecord(Model):
    """One approval decision (Kaizen record shape); ``timestamp`` is the server's clock."""

    tool_name: str
    approved: bool
    action: ApprovalAction = "once"
    timestamp: datetime
    input_summary: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The Kaizen dict shape (a fresh dict; ``timestamp`` stays a datetime)."""
        return self.model_dump()


class AgentSnapshot(Model):
    """A point-in-time copy of an agent's memory, tools and conversation."""

    agent_id: str
    snapshot_id: str = Field(default_factory=lambda: _new_id("snap"))
    timestamp: datetime = Field(default_factory=_utcnow)
    memory_state: Any = None
    tool_state: Any = None
    conversation_history: list[Any] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    #: Set by the server when stored.
    saved_at: datetime | None = None
    sequence: int | None = None


class AgentCheckpoint(Model):
    """A resumable checkpoint; the store adds the agent's tracking state atomically on save."""

    agent_id: str
    # strict: step=True / "5", checkpoint_id=b"..", recoverable="no" are refused, not coerced.
    checkpoint_id: str = Field(default_factory=lambda: _new_id("ckpt"), strict=True)
    step: int = Field(0, ge=0, le=2**53, strict=True)
    state: dict[str, Any] = Field(default_factory=dict)
    recoverable: bool = Field(True, strict=True)
    metadata: dict[str, Any] = Field(default_factory=dict)
    #: The caller's time if given, else the server's time of the save.
    timestamp: datetime | None = None
    # -- captured by the saving script -----------------------------------------------------
    approval_history: list[ApprovalRecord] = Field(default_factory=list)
    tool_usage_counts: dict[str, int] = Field(default_factory=dict)
    workflow_run_id: str | None = None
    workflow_state: dict[str, Any] = Field(default_factory=dict)
    #: Tool -> "allowed" | "denied" (decisions of "all" / "deny_all" approvals, kept past the history cap).
    standing_decisions: dict[str, Literal["allowed", "denied"]] = Field(default_factory=dict)
    #: The checkpoint this one continues (the head of the agent's line when it was first saved, or the
    #: checkpoint it was forked from) and that checkpoint's agent; None for the first of a line.
    parent_checkpoint_id: str | None = None
    parent_agent_id: str | None = None
    saved_at: datetime | None = None
    sequence: int | None = None
    fencing_token: int | None = None

    @property
    def step_number(self) -> int:
        """Kaizen's name for ``step``."""
        return self.step

    def caller_fields(self) -> dict[str, Any]:
        """What the caller contributes to the stored document (the rest comes from the script)."""
        out: dict[str, Any] = {
            "checkpoint_id": self.checkpoint_id,
            "agent_id": self.agent_id,
            "step_number": self.step,
            "state": self.state,
            "recoverable": self.recoverable,
            "metadata": self.metadata,
        }
        if self.timestamp is not None:
            out["timestamp"] = self.timestamp
        return out


def workflow_from_doc(data: dict[str, Any]) -> dict[str, Any]:
    """Workflow state as stored -> the caller's dict (``last_updated`` as a datetime)."""
    if "last_updated" in data and isinstance(data["last_updated"], str):
        data["last_updated"] = datetime.fromisoformat(data["last_updated"])
    return data


def stored_doc(body: str, reply: str) -> str:
    """The document a save script stored, from the JSON object the client sent and the script's reply.

    ``save_checkpoint.lua`` / ``save_snapshot.lua`` are sent ``body`` without its closing ``}``
    (``body[:-1]``), store that, a comma, then the members the server added, and reply only those
    members as ``{...}``; gluing the two together here gives the stored text byte for byte, so the
    returned model is the one a later load decodes (caller values as JSON gives them back, tuples
    as lists and so on).
    """
    return body[:-1] + "," + reply[1:]


def checkpoint_from_doc(text: str) -> AgentCheckpoint:
    data = loads(text)
    data["step"] = data.pop("step_number", 0)
    data["workflow_state"] = workflow_from_doc(data.get("workflow_state") or {})
    return AgentCheckpoint.parse(data)


def snapshot_from_doc(text: str) -> AgentSnapshot:
    return AgentSnapshot.parse(loads(text))


def approval_from_doc(text: str) -> ApprovalRecord:
    return ApprovalRecord.parse(loads(text))

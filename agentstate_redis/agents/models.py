"""The agent manager's pydantic models: snapshots, checkpoints and approval records.

    >>> AgentCheckpoint(agent_id="researcher_01", checkpoint_id="task_step_5", step=5,
    ...                 state={"tokens_used": 15000}, recoverable=True)
    >>> ApprovalRecord(tool_name="Bash", approved=True, action="once", timestamp=now)

A stored checkpoint is the JSON document of the Kaizen "Checkpoint Data
Structure" (checkpoint_id, agent_id, timestamp, step_number, approval_history in
recording order, tool_usage_counts, workflow_run_id, workflow_state, parent_checkpoint_id) plus the standing
decisions, the caller's ``state``/``metadata`` and server-side fields (``saved_at``,
``sequence``, ``fencing_token``). The tracking fields are captured by the saving script;
values the caller puts there are ignored on save. Redis holds it in two parts, the caller's body as
sent and the server's members (see docs/internals.md, "Checkpoint bodies"); ``checkpoint_from_parts``
joins them.
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
    """The document a snapshot save stored, from the JSON object the client sent and the script's reply.

    ``save_snapshot.lua`` is sent ``body`` without its closing ``}``
    (``body[:-1]``), store that, a comma, then the members the server added, and reply only those
    members as ``{...}``; gluing the two together here gives the stored text byte for byte, so the
    returned model is the one a later load decodes (caller values as JSON gives them back, tuples
    as lists and so on).
    """
    return body[:-1] + "," + reply[1:]


#: The member a checkpoint body starts with: the op id of the save that wrote it (see ``checkpoint_from_parts``).
BODY_TAG = "~op"


def checkpoint_body(checkpoint: AgentCheckpoint, tag: str) -> dict[str, Any]:
    """What a save stores as the checkpoint's body: ``BODY_TAG`` (the save's op id), then the caller's fields."""
    return {BODY_TAG: tag, **checkpoint.caller_fields()}


def checkpoint_from_data(data: dict[str, Any]) -> AgentCheckpoint:
    """A checkpoint from its decoded document (body members and the server's members together)."""
    data.pop(BODY_TAG, None)
    data["step"] = data.pop("step_number", 0)
    data["workflow_state"] = workflow_from_doc(data.get("workflow_state") or {})
    return AgentCheckpoint.parse(data)


def checkpoint_from_doc(text: str) -> AgentCheckpoint:
    return checkpoint_from_data(loads(text))


def checkpoint_from_save(body: dict[str, Any], reply: str) -> AgentCheckpoint:
    """The checkpoint a save stored, from the body it sent (decoded) and the members the server replied.

    Decoded from the body's bytes (not built from the caller's model), so it is what a later load
    gives back: tuples as lists, datetimes as JSON gives them, and so on.
    """
    data = body
    data.update(loads(reply))
    return checkpoint_from_data(data)


def checkpoint_from_parts(parts: list[Any], body: str | None = None) -> AgentCheckpoint | None:
    """A checkpoint from a script's parts (``agent_parts`` in lua/lib/agents.lua), or None if the body does not match.

        >>> checkpoint_from_parts(["d", "c1", '{"checkpoint_id":"c1",...}'])        # stored by the previous release
        >>> checkpoint_from_parts(["s", "c1", '"saved_at":...', "op-1", ""], body)  # body read by a GET of its own

    ``["s", id, members, tag, inline body or ""]``: an inline body was read by the same script. A
    ``body`` read apart from it must carry ``tag`` as its ``BODY_TAG``: it can be another save's (the
    checkpoint was saved again between the two reads), and then this is None and the caller reads again.
    """
    if parts[0] == "d":
        return checkpoint_from_doc(parts[2])
    if parts[4]:  # small: one decode of the joined text
        return checkpoint_from_data(loads(parts[4][:-1] + "," + parts[2] + "}"))
    if body:
        data = loads(body)
        if data.get(BODY_TAG, "") != parts[3]:
            return None
    else:
        return None
    data.update(loads("{" + parts[2] + "}"))
    return checkpoint_from_data(data)


def snapshot_from_doc(text: str) -> AgentSnapshot:
    return AgentSnapshot.parse(loads(text))


def approval_from_doc(text: str) -> ApprovalRecord:
    return ApprovalRecord.parse(loads(text))

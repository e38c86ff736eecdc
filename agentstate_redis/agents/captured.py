"""Captured tracking state in Kaizen's shapes, and any captured state checked and encoded for a restore.

    >>> state = CapturedState.from_checkpoint(checkpoint)
    >>> len(state.approval_history), state.tool_usage_counts, state.workflow_run_id
    (2, {'Bash': 1, 'Read': 5}, 'run_abc123')
    >>> state.approval_history[0]
    {'tool_name': 'Bash', 'approved': True, 'action': 'once',
     'timestamp': '2025-01-01T12:00:00.123000+00:00', 'input_summary': "{'command': 'ls -la'}"}
    >>> tracking_args(state.to_dict(), dumps)      # or a hand-built dict, or Kaizen's AgentState

Kaizen's records carry ``timestamp`` as ``datetime.now(timezone.utc).isoformat()``, an ISO
string with ``+00:00``; ours are the server's clock in the same format (milliseconds, then
``000``). ``input_summary`` is ``""`` when there was no tool input, as in Kaizen; the
workflow state's ``last_updated`` is an ISO string too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pydantic import Field

from .. import validate
from ..errors import InvalidInputError
from ..model import Model
from ..validate import integer
from .base import APPROVAL_HISTORY_CAP, INPUT_SUMMARY_CHARS
from .models import AgentCheckpoint, ApprovalRecord

#: The attributes / keys a captured state is recognised by (at least one must be present).
TRACKING_FIELDS = ("approval_history", "tool_usage_counts", "workflow_state", "workflow_run_id")
_RECORD_FIELDS = {"tool_name", "approved", "action", "timestamp", "input_summary"}
_ACTIONS = ("once", "all", "deny_all")
_DECISIONS = ("allowed", "denied")


def iso(moment: datetime) -> str:
    """Kaizen's timestamp text: ISO 8601, UTC, microseconds, ``+00:00``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def kaizen_record(record: ApprovalRecord) -> dict[str, Any]:
    """An approval record as Kaizen's dict (timestamp an ISO string, no summary = "")."""
    return {
        "tool_name": record.tool_name,
        "approved": record.approved,
        "action": record.action,
        "timestamp": iso(record.timestamp),
        "input_summary": record.input_summary or "",
    }


def kaizen_workflow(state: Mapping[str, Any]) -> dict[str, Any]:
    """Workflow state as Kaizen's dict (``last_updated`` an ISO string)."""
    out = dict(state)
    if isinstance(out.get("last_updated"), datetime):
        out["last_updated"] = iso(out["last_updated"])
    return out


class CapturedState(Model):
    """What ``_capture_state()`` returns: Kaizen's AgentState tracking fields plus the checkpoint's identity.

    ``to_dict()`` is the seed's "Checkpoint Data Structure" (JSON-ready).
    """

    checkpoint_id: str | None = None
    agent_id: str
    timestamp: datetime | None = None
    step_number: int = 0
    approval_history: list[dict[str, Any]] = Field(default_factory=list)
    tool_usage_counts: dict[str, int] = Field(default_factory=dict)
    workflow_run_id: str | None = None
    workflow_state: dict[str, Any] = Field(default_factory=dict)
    standing_decisions: dict[str, str] = Field(default_factory=dict)
    state: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_checkpoint(cls, checkpoint: AgentCheckpoint) -> CapturedState:
        return cls(
            checkpoint_id=checkpoint.checkpoint_id,
            agent_id=checkpoint.agent_id,
            timestamp=checkpoint.timestamp,
            step_number=checkpoint.step,
            approval_history=[kaizen_record(r) for r in checkpoint.approval_history],
            tool_usage_counts=dict(checkpoint.tool_usage_counts),
            workflow_run_id=checkpoint.workflow_run_id,
            workflow_state=kaizen_workflow(checkpoint.workflow_state),
            standing_decisions=dict(checkpoint.standing_decisions),
            state=checkpoint.state,
            metadata=checkpoint.metadata,
        )

    def to_dict(self) -> dict[str, Any]:
        out = self.model_dump()
        out["timestamp"] = None if self.timestamp is None else iso(self.timestamp)
        return out


# -- restoring: any captured state, checked, then encoded for agents/restore_tracking ---------------


@dataclass
class _Tracking:
    approvals: list[list[str]]
    decisions: dict[str, str]
    counts: dict[str, int]
    workflow: dict[str, Any]
    last_updated_ms: int | None


def _get(source: Any, name: str) -> Any:
    if isinstance(source, Mapping):
        return source.get(name)
    return getattr(source, name, None)


def _timestamp(value: Any, what: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInputError(f"{what} must be an ISO 8601 timestamp, got {value[:80]!r}") from None
    else:
        raise InvalidInputError(f"{what} must be an ISO timestamp string or a datetime, got {type(value).__name__}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _record(raw: Any, index: int) -> list[str]:
    what = f"state approval_history[{index}]"
    if isinstance(raw, ApprovalRecord):
        raw = raw.model_dump()
    if not isinstance(raw, Mapping):
        raise InvalidInputError(f"{what} must be a record dict, got {type(raw).__name__}")
    unknown = [k for k in raw if k not in _RECORD_FIELDS]
    if unknown:
        raise InvalidInputError(f"{what} has unknown field {unknown[0]!r} (fields: {sorted(_RECORD_FIELDS)})")
    tool = validate.name(f"{what} tool_name", raw.get("tool_name"))
    approved = raw.get("approved")
    if not isinstance(approved, bool):
        raise InvalidInputError(f"{what} approved must be True or False, got {approved!r}")
    action = raw.get("action", "once")
    if action not in _ACTIONS:
        raise InvalidInputError(f"{what} action must be one of {_ACTIONS}, got {action!r}")
    stamp = raw.get("timestamp")
    stamp_text = "" if stamp is None else iso(_timestamp(stamp, f"{what} timestamp"))
    summary = raw.get("input_summary") or None  # Kaizen's "" is "no tool input", stored as null like ours
    if summary is not None and not isinstance(summary, str):
        raise InvalidInputError(f"{what} input_summary must be a string, got {type(summary).__name__}")
    if summary is not None and len(summary) > INPUT_SUMMARY_CHARS + 3:  # longer than any summary recording keeps
        summary = summary[:INPUT_SUMMARY_CHARS] + "..."
    return [tool, "1" if approved else "0", action, stamp_text, "0" if summary is None else "1", summary or ""]


def _check(state: Any) -> _Tracking:
    if isinstance(state, (str, bytes)) or state is None or not any(_get(state, f) is not None for f in TRACKING_FIELDS):
        raise InvalidInputError(
            f"state must be a captured state (an object or dict with {', '.join(TRACKING_FIELDS)}), "
            f"got {type(state).__name__}"
        )
    history = _get(state, "approval_history") or []
    if isinstance(history, (str, bytes, Mapping)) or not isinstance(history, Sequence):
        raise InvalidInputError(f"state approval_history must be a list of records, got {type(history).__name__}")
    records = [_record(r, i) for i, r in enumerate(history)]

    decisions_given = _get(state, "standing_decisions")
    if decisions_given is None:  # as record_approval sets them, replayed in order
        decisions: dict[str, str] = {}
        for tool, approved, action, *_ in records:
            if action == "all":
                decisions[tool] = "allowed" if approved == "1" else "denied"
            elif action == "deny_all":
                decisions[tool] = "denied"
    else:
        if not isinstance(decisions_given, Mapping):
            raise InvalidInputError(f"state standing_decisions must be a dict, got {type(decisions_given).__name__}")
        decisions = {}
        for tool, decision in decisions_given.items():
            validate.name("state standing_decisions tool name", tool)
            if decision not in _DECISIONS:
                raise InvalidInputError(
                    f"state standing_decisions[{tool!r}] must be one of {_DECISIONS}, got {decision!r}"
                )
            decisions[tool] = decision

    counts_given = _get(state, "tool_usage_counts") or {}
    if not isinstance(counts_given, Mapping):
        raise InvalidInputError(f"state tool_usage_counts must be a dict, got {type(counts_given).__name__}")
    counts = {}
    for tool, count in counts_given.items():
        validate.name("state tool_usage_counts tool name", tool)
        counts[tool] = integer(f"state tool_usage_counts[{tool!r}]", count, minimum=0)

    workflow_given = _get(state, "workflow_state") or {}
    if not isinstance(workflow_given, Mapping):
        raise InvalidInputError(f"state workflow_state must be a dict, got {type(workflow_given).__name__}")
    workflow = dict(workflow_given)
    last_updated_ms = None
    if "last_updated" in workflow:
        stamp = workflow.pop("last_updated")
        moment = _timestamp(stamp, "state workflow_state last_updated")
        last_updated_ms = int(moment.timestamp() * 1000)
    for name in workflow:
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"state workflow_state field names must be non-empty strings, got {name!r}")
    run_id = _get(state, "workflow_run_id")
    if run_id is not None:
        validate.name("state workflow_run_id", run_id)
        if "run_id" in workflow and workflow["run_id"] != run_id:
            raise InvalidInputError(
                f"state workflow_run_id {run_id!r} differs from workflow_state run_id {workflow['run_id']!r}"
            )
        workflow.setdefault("run_id", run_id)
    # recording keeps no more records either; decisions above came from the whole history
    return _Tracking(records[-APPROVAL_HISTORY_CAP:], decisions, counts, workflow, last_updated_ms)


def tracking_args(state: Any, dumps: Callable[..., str]) -> list[Any]:
    """ARGV after the write head for ``agents/restore_tracking``; InvalidInputError before anything is sent."""
    t = _check(state)
    args: list[Any] = [
        len(t.approvals),
        len(t.decisions),
        len(t.counts),
        len(t.workflow),
        "" if t.last_updated_ms is None else t.last_updated_ms,
    ]
    for record in t.approvals:
        args += record
    for tool, decision in t.decisions.items():
        args += [tool, decision]
    for tool, count in t.counts.items():
        args += [tool, count]
    for name, value in t.workflow.items():
        args += ["." + name, dumps(value, what=f"state workflow_state field {name!r}")]
    return args

"""Per-agent activity tracking in Redis: approvals, standing decisions, tool usage, workflow state.

    >>> await store.record_approval("researcher_01", "Bash", True, "once", {"command": "ls -la"})
    >>> await store.record_approval("researcher_01", "Write", False, "deny_all")
    >>> await store.get_standing_decision("researcher_01", "Write")
    'denied'
    >>> await store.record_tool_usage("researcher_01", "Read", increment=5)
    5
    >>> await store.update_workflow_state("researcher_01", run_id="run_abc123", status="running")

Every process sees the same state: each write is one script on the agent's keys.
Approval history is a capped stream, read in recording order (Kaizen's): at most 1000
records per agent (older ones are trimmed, exact MAXLEN). Tool counts and workflow fields are one hash field
each, so concurrent writers never lose each other's updates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import validate
from ..codec import loads
from ..errors import InvalidInputError
from ..patterns import utf8
from .base import INPUT_SUMMARY_CHARS, AgentBase
from .captured import tracking_args
from .models import ApprovalRecord, StandingDecision, approval_from_doc, workflow_from_doc

_ACTIONS = ("once", "all", "deny_all")
_RESERVED_WORKFLOW_FIELDS = ("last_updated",)


def summarize_input(tool_input: Any) -> str | None:
    if tool_input is None:
        return None
    text = str(tool_input)
    return text[:INPUT_SUMMARY_CHARS] + "..." if len(text) > INPUT_SUMMARY_CHARS else text


class ActivityTracking(AgentBase):
    """Approval / tool-usage / workflow-state tracking methods of AgentStateStore."""

    async def record_approval(
        self,
        agent_id: str,
        tool_name: str,
        approved: bool,
        action: str = "once",
        tool_input: Any = None,
        *,
        fencing_token: int | None = None,
    ) -> ApprovalRecord:
        """Append an approval record; ``"all"``/``"deny_all"`` also set a standing decision for the tool."""
        validate.name("tool_name", tool_name)
        if not isinstance(approved, bool):
            raise InvalidInputError(f"approved must be True or False, got {approved!r}")
        if action not in _ACTIONS:
            raise InvalidInputError(f"action must be one of {_ACTIONS}, got {action!r}")
        summary = summarize_input(tool_input)
        token = validate.fencing_token(fencing_token, optional=True)
        reply = await self._write(
            "record_approval", agent_id, token, tool_name, approved, action, summary is not None, summary or ""
        )
        return approval_from_doc(reply)

    async def get_approval_history(
        self, agent_id: str, tool_name: str | None = None, limit: int | None = None, *, newest_first: bool = False
    ) -> list[ApprovalRecord]:
        """Approval records in recording order (oldest first; ``newest_first=True`` reverses), optionally of one tool.

        At most 1000 are kept per agent; ``limit`` keeps the most recent ``limit`` records, so
        ``history[-1]`` is always the latest decision.
        """
        if tool_name is not None:
            validate.name("tool_name", tool_name)
        if limit is not None:
            validate.integer("limit", limit)
        newest = validate.boolean("newest_first", newest_first)
        reply = await self._read("approvals", agent_id, tool_name or "", limit or 0, "1" if newest else "0")
        return [approval_from_doc(text) for text in reply]

    async def get_standing_decisions(self, agent_id: str) -> dict[str, StandingDecision]:
        """Tools with a standing decision ("all" -> allowed, "deny_all" -> denied)."""
        flat = await self._read("decisions", agent_id)
        return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}

    async def get_standing_decision(self, agent_id: str, tool_name: str) -> StandingDecision:
        """ "allowed", "denied", or "ask" when no standing decision was recorded for the tool."""
        validate.name("tool_name", tool_name)
        return (await self.get_standing_decisions(agent_id)).get(tool_name, "ask")

    async def record_tool_usage(
        self, agent_id: str, tool_name: str, increment: int = 1, *, fencing_token: int | None = None
    ) -> int:
        """Add ``increment`` (a positive integer) to the tool's count; returns the new count."""
        validate.name("tool_name", tool_name)
        validate.integer("increment", increment)
        token = validate.fencing_token(fencing_token, optional=True)
        return int(await self._write("record_tool_usage", agent_id, token, tool_name, increment))

    async def get_tool_usage_counts(self, agent_id: str) -> dict[str, int]:
        """Tool name -> count (a fresh dict)."""
        flat = await self._read("tool_usage", agent_id)
        return {flat[i]: int(flat[i + 1]) for i in range(0, len(flat), 2)}

    async def update_workflow_state(
        self,
        agent_id: str,
        run_id: str | None = None,
        status: str | None = None,
        current_node: str | None = None,
        node_results: Mapping[str, Any] | None = None,
        execution_time: float | None = None,
        *,
        fencing_token: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Merge the given fields (None = leave as is; extra keyword fields are stored as given).

        ``last_updated`` is set from the server clock. Returns the whole workflow state.
        """
        changes: dict[str, Any] = {}
        if run_id is not None:
            changes["run_id"] = validate.name("run_id", run_id)
        if status is not None:
            changes["status"] = validate.name("status", status)
        if current_node is not None:
            changes["current_node"] = validate.name("current_node", current_node)
        if node_results is not None:
            if not isinstance(node_results, Mapping):
                raise InvalidInputError(f"node_results must be a dict, got {type(node_results).__name__}")
            changes["node_results"] = dict(node_results)
        if execution_time is not None:
            if isinstance(execution_time, bool) or not isinstance(execution_time, (int, float)) or execution_time < 0:
                raise InvalidInputError(f"execution_time must be a non-negative number, got {execution_time!r}")
            changes["execution_time"] = execution_time
        for name in kwargs:
            if name in _RESERVED_WORKFLOW_FIELDS:
                raise InvalidInputError(f"workflow field {name!r} is set by the server")
        changes.update(kwargs)
        args: list[str] = []
        for name, value in changes.items():
            if not name.isascii():
                utf8("workflow field name", name)
            args += ["." + name, self._dumps(value, what=f"workflow field {name!r}")]
        token = validate.fencing_token(fencing_token, optional=True)
        reply = await self._write("update_workflow", agent_id, token, *args)
        return workflow_from_doc(loads(reply))

    async def restore_tracking(self, agent_id: str, state: Any, *, fencing_token: int | None = None) -> None:
        """Replace the agent's approvals, standing decisions, tool counts and workflow state with ``state`` (one script).

        ``state`` is any captured state: a CapturedState or AgentCheckpoint (of any agent or store), a dict
        of the seed's "Checkpoint Data Structure", or an object with those attributes (Kaizen's
        AgentState). Missing parts restore as empty; standing decisions missing from it are derived
        from its approval history (as recording sets them). A bad state raises InvalidInputError and
        changes nothing.

            >>> await store.restore_tracking("researcher_01", {"tool_usage_counts": {"Bash": 3}})
        """
        args = tracking_args(state, self._dumps)
        token = validate.fencing_token(fencing_token, optional=True)
        await self._write("restore_tracking", agent_id, token, *args)

    async def get_workflow_state(self, agent_id: str) -> dict[str, Any]:
        """The workflow state (a fresh dict; ``last_updated`` is a datetime); {} if never set."""
        return workflow_from_doc(loads(await self._read("workflow", agent_id)))

"""AgentTracker: one agent's activity tracking with the Kaizen method names, stored in Redis.

    >>> tracker = AgentTracker(agent_store, "my_agent")
    >>> await tracker.record_approval("Bash", True, "once", {"command": "ls -la"})
    >>> await tracker.record_tool_usage("Read", increment=5)
    >>> await tracker.update_workflow_state(run_id="run_abc123", status="running")
    >>> checkpoint = await tracker.capture_state({"task": "analyze"}, step=5)
    >>> await AgentTracker(other_store, "my_agent").restore_state("latest")   # another process
    >>> await tracker.restore_state(checkpoint)          # a captured state, written back as it is

Getters return fresh dicts/lists that callers may change freely. With
``await tracker.acquire(owner)`` every write carries the fencing token, so a
tracker whose lease was taken over gets LeaseError instead of overwriting.
"""

from __future__ import annotations

import uuid
from typing import Any

from .. import validate
from ..errors import InvalidInputError
from ..keys import validate_id
from .models import AgentCheckpoint
from .store import LATEST, AgentStateStore


class AgentTracker:
    """Approval history, tool usage counts and workflow state of one agent."""

    def __init__(self, store: AgentStateStore, agent_id: str, *, fencing_token: int | None = None) -> None:
        if not isinstance(store, AgentStateStore):
            raise InvalidInputError(f"store must be an AgentStateStore, got {type(store).__name__}")
        self.store = store
        self.agent_id = validate_id("agent", agent_id)
        self.fencing_token = fencing_token
        self.owner: str | None = None

    # -- ownership ---------------------------------------------------------------------------

    async def acquire(self, owner: str | None = None, ttl: float = 30.0) -> int:
        """Take the agent's lease; later writes carry the token. Returns the token."""
        if owner is None:
            owner = self.owner or uuid.uuid4().hex
        self.owner = validate.name("owner", owner)
        self.fencing_token = await self.store.acquire_lease(self.agent_id, self.owner, ttl)
        return self.fencing_token

    async def release(self) -> None:
        if self.fencing_token is not None:
            await self.store.release_lease(self.agent_id, self.fencing_token)
            self.fencing_token = None

    # -- recording ---------------------------------------------------------------------------

    async def record_approval(
        self, tool_name: str, approved: bool, action: str = "once", tool_input: Any = None
    ) -> dict[str, Any]:
        record = await self.store.record_approval(
            self.agent_id, tool_name, approved, action, tool_input, fencing_token=self.fencing_token
        )
        return record.as_dict()

    async def record_tool_usage(self, tool_name: str, increment: int = 1) -> int:
        return await self.store.record_tool_usage(self.agent_id, tool_name, increment, fencing_token=self.fencing_token)

    async def update_workflow_state(
        self,
        run_id: str | None = None,
        status: str | None = None,
        current_node: str | None = None,
        node_results: dict[str, Any] | None = None,
        execution_time: float | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        return await self.store.update_workflow_state(
            self.agent_id,
            run_id,
            status,
            current_node,
            node_results,
            execution_time,
            fencing_token=self.fencing_token,
            **kwargs,
        )

    # -- reading (fresh copies) ----------------------------------------------------------------

    async def get_approval_history(
        self, tool_name: str | None = None, *, newest_first: bool = False
    ) -> list[dict[str, Any]]:
        """Approval records (Kaizen dict shape) in recording order; ``newest_first=True`` reverses."""
        records = await self.store.get_approval_history(self.agent_id, tool_name, newest_first=newest_first)
        return [r.as_dict() for r in records]

    async def get_tool_usage_counts(self) -> dict[str, int]:
        return await self.store.get_tool_usage_counts(self.agent_id)

    async def get_workflow_state(self) -> dict[str, Any]:
        return await self.store.get_workflow_state(self.agent_id)

    async def get_standing_decision(self, tool_name: str) -> str:
        """ "allowed", "denied" or "ask" (decisions made with action "all" / "deny_all")."""
        return await self.store.get_standing_decision(self.agent_id, tool_name)

    # -- checkpoints ---------------------------------------------------------------------------

    async def capture_state(
        self,
        state: dict[str, Any] | None = None,
        *,
        step: int = 0,
        checkpoint_id: str | None = None,
        recoverable: bool = True,
        metadata: dict[str, Any] | None = None,
    ) -> AgentCheckpoint:
        """Save a checkpoint of ``state`` with all tracking captured atomically; returns it."""
        fields: dict[str, Any] = {
            "agent_id": self.agent_id,
            "step": step,
            "state": {} if state is None else validate.mapping("state", state),
            "recoverable": validate.boolean("recoverable", recoverable),
            "metadata": {} if metadata is None else validate.mapping("metadata", metadata),
        }
        if checkpoint_id is not None:
            fields["checkpoint_id"] = checkpoint_id
        return await self.store.save_checkpoint(AgentCheckpoint(**fields), fencing_token=self.fencing_token)

    async def restore_state(self, checkpoint: Any = LATEST) -> AgentCheckpoint | None:
        """Write tracking state back in one script.

        A checkpoint id (or ``"latest"``) restores that stored checkpoint and returns it. A captured
        state (AgentCheckpoint, CapturedState, a dict of the seed's checkpoint shape, Kaizen's
        AgentState; of any agent, from any store) is written back as it is and None is returned.
        """
        if isinstance(checkpoint, str):
            return await self.store.restore_checkpoint(self.agent_id, checkpoint, fencing_token=self.fencing_token)
        await self.store.restore_tracking(self.agent_id, checkpoint, fencing_token=self.fencing_token)
        return None

"""AgentStateStore: snapshots, checkpoints, ownership leases and activity tracking of agents.

    >>> agent_store = AgentStateStore(persistence="redis", redis_url="redis://localhost:6379")
    >>> await agent_store.save_snapshot(AgentSnapshot(agent_id="researcher_01", memory_state={...}))
    >>> await agent_store.save_checkpoint(AgentCheckpoint(agent_id="researcher_01", checkpoint_id="task_step_5",
    ...                                                   step=5, state={"tokens_used": 15000}))
    >>> checkpoint = await agent_store.get_checkpoint("researcher_01", "latest")
    >>> checkpoint.tool_usage_counts, checkpoint.approval_history   # captured with the state

Retention is per agent and enforced by the saving script: the newest
``max_snapshots`` snapshots (server order) and ``max_checkpoints`` checkpoints
("newest" = highest step, then latest server save) are kept. A checkpoint captures
the agent's approval history, tool usage counts and workflow state in the same
script as the caller's state; restoring writes them back in one script.

Ownership is optional: ``token = await acquire_lease(agent_id, owner)`` returns a
fencing token; while the lease is live, writes without the current token raise
LeaseError, and a token taken over by a newer holder is refused (stale).
"""

from __future__ import annotations

from typing import Any

import orjson

from .. import validate
from ..errors import InvalidInputError
from .activity import ActivityTracking
from .models import AgentCheckpoint, AgentSnapshot, checkpoint_from_doc, snapshot_from_doc, stored_doc

LATEST = "latest"


def _checkpoint_ref(checkpoint_id: str) -> str:
    """'latest' -> '' (the scripts' spelling), anything else must be a usable id."""
    validate.name("checkpoint_id", checkpoint_id)
    return "" if checkpoint_id == LATEST else checkpoint_id


class AgentStateStore(ActivityTracking):
    """Agent snapshots, checkpoints and recovery data (see the module docstring)."""

    def __init__(
        self,
        persistence: Any = None,
        *,
        max_snapshots: int = 50,
        max_checkpoints: int = 50,
        **settings: Any,
    ) -> None:
        super().__init__(persistence, **settings)
        self.max_snapshots = validate.integer("max_snapshots", max_snapshots)
        self.max_checkpoints = validate.integer("max_checkpoints", max_checkpoints)

    # -- snapshots ---------------------------------------------------------------------------

    async def save_snapshot(self, snapshot: AgentSnapshot, *, fencing_token: int | None = None) -> AgentSnapshot:
        """Store a snapshot (keeps the newest ``max_snapshots``); returns it as stored (``saved_at``, ``sequence`` set).

        The server replies only what it added; the returned model is decoded from what was sent
        plus that reply, so it equals what ``list_snapshots`` loads back.
        """
        snapshot = validate.model("snapshot", AgentSnapshot, snapshot)
        validate.name("snapshot_id", snapshot.snapshot_id)
        body = self._dumps(snapshot.model_dump(exclude={"saved_at", "sequence"}), what="snapshot")
        token = validate.fencing_token(fencing_token, optional=True)
        reply = await self._write("save_snapshot", snapshot.agent_id, token, snapshot.snapshot_id,
                                  body[:-1], self.max_snapshots)
        return snapshot_from_doc(stored_doc(body, reply))

    async def list_snapshots(self, agent_id: str, limit: int | None = None) -> list[AgentSnapshot]:
        """Snapshots, newest first."""
        if limit is not None:
            validate.integer("limit", limit)
        return [snapshot_from_doc(t) for t in await self._read("list_snapshots", agent_id, limit or 0)]

    async def delete_snapshot(self, agent_id: str, snapshot_id: str, *, fencing_token: int | None = None) -> bool:
        """Delete one snapshot; True if it existed."""
        validate.name("snapshot_id", snapshot_id)
        token = validate.fencing_token(fencing_token, optional=True)
        return await self._write("delete_snapshot", agent_id, token, snapshot_id) == "1"

    # -- checkpoints -------------------------------------------------------------------------

    async def save_checkpoint(
        self, checkpoint: AgentCheckpoint, *, fencing_token: int | None = None
    ) -> AgentCheckpoint:
        """Store the checkpoint with the agent's tracking state captured atomically; returns what was stored.

        Saving an existing ``checkpoint_id`` replaces it. Keeps the newest ``max_checkpoints``.
        The server replies only what it added (saved_at, sequence, fencing_token, timestamp if none
        was given, the tracking state), not the whole document; the returned model is decoded from
        what was sent plus that reply, so it equals what ``get_checkpoint`` loads back.
        """
        checkpoint = validate.model("checkpoint", AgentCheckpoint, checkpoint)
        _checkpoint_ref(checkpoint.checkpoint_id)
        if checkpoint.checkpoint_id == LATEST:
            raise InvalidInputError("checkpoint_id 'latest' is reserved (it names the newest checkpoint)")
        body = self._dumps(checkpoint.caller_fields(), what=f"checkpoint {checkpoint.checkpoint_id!r}")
        token = validate.fencing_token(fencing_token, optional=True)
        reply = await self._write("save_checkpoint", checkpoint.agent_id, token, checkpoint.checkpoint_id,
                                  checkpoint.step, checkpoint.recoverable, body[:-1],
                                  checkpoint.timestamp is None, self.max_checkpoints)
        return checkpoint_from_doc(stored_doc(body, reply))

    async def get_checkpoint(self, agent_id: str, checkpoint_id: str = LATEST) -> AgentCheckpoint:
        """One checkpoint, or the newest with ``"latest"``; NotFoundError if there is none."""
        return checkpoint_from_doc(await self._read("get_checkpoint", agent_id, agent_id,
                                                    _checkpoint_ref(checkpoint_id)))

    async def list_checkpoints(self, agent_id: str, limit: int | None = None) -> list[AgentCheckpoint]:
        """Checkpoints, newest first (highest step, then latest server save)."""
        if limit is not None:
            validate.integer("limit", limit)
        return [checkpoint_from_doc(t) for t in await self._read("list_checkpoints", agent_id, limit or 0)]

    async def delete_checkpoint(self, agent_id: str, checkpoint_id: str, *, fencing_token: int | None = None) -> bool:
        """Delete one checkpoint; True if it existed."""
        validate.name("checkpoint_id", checkpoint_id)
        token = validate.fencing_token(fencing_token, optional=True)
        return await self._write("delete_checkpoint", agent_id, token, checkpoint_id) == "1"

    async def restore_checkpoint(
        self, agent_id: str, checkpoint_id: str = LATEST, *, fencing_token: int | None = None
    ) -> AgentCheckpoint:
        """Write the checkpoint's approvals, decisions, tool counts and workflow state back (one script)."""
        token = validate.fencing_token(fencing_token, optional=True)
        reply = await self._write("restore_checkpoint", agent_id, token, _checkpoint_ref(checkpoint_id))
        return checkpoint_from_doc(reply)

    # -- ownership ---------------------------------------------------------------------------

    async def acquire_lease(self, agent_id: str, owner: str, ttl: float = 30.0) -> int:
        """Take the agent's lease (or renew it for the same owner); returns the fencing token.

        LeaseError if another owner holds a live lease.
        """
        validate.name("owner", owner)
        return int(await self._write("lease_acquire", agent_id, "", owner, validate.milliseconds("lease ttl", ttl)))

    async def renew_lease(self, agent_id: str, fencing_token: int, ttl: float = 30.0) -> None:
        """Extend the lease held with ``fencing_token``; LeaseError if it is stale."""
        token = validate.fencing_token(fencing_token)
        await self._write("lease_renew", agent_id, token, validate.milliseconds("lease ttl", ttl))

    async def release_lease(self, agent_id: str, fencing_token: int) -> None:
        """Give the lease up; LeaseError if the token is stale."""
        token = validate.fencing_token(fencing_token)
        await self._write("lease_release", agent_id, token)

    # -- whole agent -------------------------------------------------------------------------

    async def delete_agent(self, agent_id: str, *, fencing_token: int | None = None) -> bool:
        """Delete the agent's snapshots, checkpoints, tracking and recovery count; True if anything existed.

        The lease (and its fence counter) stays, so a fencing token is never handed out twice.
        """
        token = validate.fencing_token(fencing_token, optional=True)
        return await self._write("delete", agent_id, token) == "1"

    async def recovery_attempts(self, agent_id: str) -> int:
        """Recovery attempts counted for the agent (see AgentRecoveryManager)."""
        return int(await self._read("recovery_attempts", agent_id))

    async def _recover(
        self, agent_id: str, checkpoint_id: str, max_attempts: int, fencing_token: int | None
    ) -> tuple[AgentCheckpoint, int]:
        token = validate.fencing_token(fencing_token, optional=True)
        reply = orjson.loads(await self._write("recover", agent_id, token, _checkpoint_ref(checkpoint_id),
                                               max_attempts))
        return checkpoint_from_doc(reply["doc"]), int(reply["attempts"])

    async def _reset_recovery(self, agent_id: str, fencing_token: int | None) -> None:
        token = validate.fencing_token(fencing_token, optional=True)
        await self._write("reset_recovery", agent_id, token)

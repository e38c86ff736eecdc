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

Lineage (see :mod:`agentstate_redis.agents.lineage`): each checkpoint records its parent;
``fork_from_checkpoint`` starts a new line from any checkpoint, ``get_checkpoint_tree`` returns
the lineage, ``list_all_checkpoints`` pages over every agent's checkpoints from an index.

A fork inside one agent is one write script: it stores the copy, writes the source's tracking
back, moves the head and applies retention atomically (the source, read first to build the copy,
must still be the same save, else the fork reads it again). A fork into ``new_agent_id`` touches
two agents, two hash tags: on Redis Cluster no script can. So it is two steps: a read script on the
source agent returns the checkpoint (document and captured tracking, one consistent read), then one
write script on the new agent stores the copy (refused if that agent already holds anything). The
first step writes nothing, so a crash between the two leaves nothing at all; the second carries an
op id, so a retry applies once. The copy is the checkpoint as it was at the read.

The cross-agent index is one sorted set per key prefix, ``{idx:checkpoints}`` (agent ids, paged in id
order). It is one slot on Cluster, a hot key, but with bounded writes: only the save (or fork) that
gives an agent its first checkpoint lists it (its reply starts with ``+<incarnation>``), so the index
takes one write per agent, not per save, and holds one member per agent, not per checkpoint
(retention never has to touch it); every listing page reads that one shard. Adds and drops carry
the agent's incarnation (counted in its lease hash, which a delete keeps), so the drop after
``delete_agent`` and the add of the agent's next first checkpoint converge in either order. Listing
re-reads each listed agent, so an agent whose checkpoints were all deleted one by one (still listed)
is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .. import validate
from ..codec import encode, loads
from ..errors import AgentStateError, InvalidInputError, VersionConflictError
from ..keys import validate_id
from . import bodies
from .activity import ActivityTracking
from .lineage import CheckpointNode, CheckpointTree, tree_from_reply
from .models import (
    AgentCheckpoint,
    AgentSnapshot,
    checkpoint_body,
    checkpoint_from_parts,
    checkpoint_from_save,
    snapshot_from_doc,
    stored_doc,
)

LATEST = "latest"
#: The cross-agent checkpoint index (``keys.index(CHECKPOINT_INDEX)``).
CHECKPOINT_INDEX = "checkpoints"
_FORK_TRIES = 5
_SIZE_HINTS = 4096
log = logging.getLogger(__name__)


def _consistent(parts: list[Any]) -> AgentCheckpoint:
    """A checkpoint from parts one script read (its body inline): they always match."""
    checkpoint = checkpoint_from_parts(parts)
    if checkpoint is None:
        raise AgentStateError(f"checkpoint {parts[1]!r}: its stored body does not carry the tag of its save")
    return checkpoint


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
        #: (agent, checkpoint id) of bodies this store last saw larger than ``bodies.INLINE_MAX_BYTES``:
        #: their loads send the body's GET beside the script (a hint only; oldest forgotten first).
        self._large: dict[tuple[str, str], None] = {}

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
        reply = await self._write(
            "save_snapshot", snapshot.agent_id, token, snapshot.snapshot_id, body[:-1], self.max_snapshots
        )
        return snapshot_from_doc(stored_doc(body, reply))

    async def list_snapshots(self, agent_id: str, limit: int | None = None) -> list[AgentSnapshot]:
        """Snapshots, newest first."""
        return [snapshot_from_doc(t) for t in await self._newest_first("list_snapshots", agent_id, limit)]

    async def delete_snapshot(self, agent_id: str, snapshot_id: str, *, fencing_token: int | None = None) -> bool:
        """Delete one snapshot; True if it existed."""
        return await self._delete_one("delete_snapshot", agent_id, "snapshot_id", snapshot_id, fencing_token)

    # -- checkpoints -------------------------------------------------------------------------

    async def save_checkpoint(
        self, checkpoint: AgentCheckpoint, *, fencing_token: int | None = None
    ) -> AgentCheckpoint:
        """Store the checkpoint with the agent's tracking state captured atomically; returns what was stored.

        Saving an existing ``checkpoint_id`` replaces it. Keeps the newest ``max_checkpoints``.
        The server replies only what it added (saved_at, sequence, fencing_token, timestamp if none
        was given, the tracking state), not the whole document; the returned model is decoded from
        the body sent plus that reply, so it equals what ``get_checkpoint`` loads back. The body is
        stored byte for byte as encoded, in a key of its own; a large one is sent by a plain SET to a
        staging key that the script renames into place (see :mod:`agentstate_redis.agents.bodies`).
        """
        checkpoint = validate.model("checkpoint", AgentCheckpoint, checkpoint)
        _checkpoint_ref(checkpoint.checkpoint_id)
        if checkpoint.checkpoint_id == LATEST:
            raise InvalidInputError("checkpoint_id 'latest' is reserved (it names the newest checkpoint)")
        agent_id, op = checkpoint.agent_id, self._op_id()
        body = self._encode(checkpoint_body(checkpoint, op), what=f"checkpoint {checkpoint.checkpoint_id!r}")
        token = validate.fencing_token(fencing_token, optional=True)
        staging = None
        if len(body) > bodies.STAGE_MIN_BYTES:
            staging = asyncio.ensure_future(
                bodies.stage(self.backend, self._agent_key(agent_id, f"ckptstage:{op}"), body)
            )
            await asyncio.sleep(0)  # the SET goes out; the returned model's values are decoded meanwhile
        decoded = loads(body)
        staged = await staging if staging is not None else False
        self._size_hint(agent_id, checkpoint.checkpoint_id, len(body))
        reply = await self._write(
            "save_checkpoint",
            agent_id,
            token,
            checkpoint.checkpoint_id,
            checkpoint.step,
            checkpoint.recoverable,
            b"" if staged else body,
            checkpoint.timestamp is None,
            self.max_checkpoints,
            op_id=op,
        )
        return checkpoint_from_save(decoded, await self._indexed(agent_id, reply))

    async def get_checkpoint(self, agent_id: str, checkpoint_id: str = LATEST) -> AgentCheckpoint:
        """One checkpoint, or the newest with ``"latest"``; NotFoundError if there is none.

        The script returns a body up to ``bodies.INLINE_MAX_BYTES`` itself; a larger one is read by a
        plain GET (never copied through Lua): after the script, or beside it in the same round trip
        when this store last saw that checkpoint's body large. A body read apart that is not the one
        the script saw (saved again in between, or the GET failed) is read again through the script.
        """
        ref = _checkpoint_ref(checkpoint_id)
        body: str | None = None
        if ref and (agent_id, ref) in self._large:
            parts, body = await asyncio.gather(
                self._read("get_checkpoint", agent_id, agent_id, ref, 0),
                bodies.fetch(self.backend, self._agent_key(agent_id, f"ckptbody:{ref}")),
            )
        else:
            parts = await self._read("get_checkpoint", agent_id, agent_id, ref, bodies.INLINE_MAX_BYTES)
            if parts[0] == "s" and not parts[4]:
                body = await bodies.fetch(self.backend, self._agent_key(agent_id, f"ckptbody:{parts[1]}"))
        checkpoint = checkpoint_from_parts(parts, body)
        if checkpoint is None:
            parts = await self._read("get_checkpoint", agent_id, agent_id, parts[1], -1)
            checkpoint = _consistent(parts)
        self._size_hint(agent_id, parts[1], len(parts[4] or body or "") if parts[0] == "s" else 0)
        return checkpoint

    def _size_hint(self, agent_id: str, checkpoint_id: str, size: int) -> None:
        key = (agent_id, checkpoint_id)
        self._large.pop(key, None)
        if size > bodies.INLINE_MAX_BYTES:
            self._large[key] = None
            if len(self._large) > _SIZE_HINTS:
                del self._large[next(iter(self._large))]

    async def list_checkpoints(self, agent_id: str, limit: int | None = None) -> list[AgentCheckpoint]:
        """Checkpoints, newest first (highest step, then latest server save)."""
        return [_consistent(p) for p in await self._newest_first("list_checkpoints", agent_id, limit)]

    async def delete_checkpoint(self, agent_id: str, checkpoint_id: str, *, fencing_token: int | None = None) -> bool:
        """Delete one checkpoint; True if it existed."""
        return await self._delete_one("delete_checkpoint", agent_id, "checkpoint_id", checkpoint_id, fencing_token)

    async def restore_checkpoint(
        self, agent_id: str, checkpoint_id: str = LATEST, *, fencing_token: int | None = None
    ) -> AgentCheckpoint:
        """Write the checkpoint's approvals, decisions, tool counts and workflow state back (one script)."""
        token = validate.fencing_token(fencing_token, optional=True)
        return _consistent(await self._write("restore_checkpoint", agent_id, token, _checkpoint_ref(checkpoint_id)))

    # -- lineage ---------------------------------------------------------------------------

    async def fork_from_checkpoint(
        self,
        agent_id: str,
        checkpoint_id: str = LATEST,
        new_agent_id: str | None = None,
        *,
        fencing_token: int | None = None,
    ) -> AgentCheckpoint:
        """Start a new line from any checkpoint: store a copy (new id) whose parent it is; returns the copy.

            >>> fork = await store.fork_from_checkpoint("researcher_01", "task_step_5")
            >>> other = await store.fork_from_checkpoint("researcher_01", "task_step_5", "researcher_02")

        The copy has the source's step, state, metadata and captured tracking; that tracking is written
        back to the agent the line belongs to (``new_agent_id``, default ``agent_id``), the copy becomes
        that agent's head (its next save is the copy's child) and ``max_checkpoints`` is applied, all in
        one script. Into another agent: that agent must hold nothing yet (AlreadyExistsError), and
        ``fencing_token`` is its lease's. See the module docstring for why that takes two steps.
        """
        ref = _checkpoint_ref(checkpoint_id)
        validate_id("agent", agent_id)
        target = agent_id if new_agent_id is None else validate_id("agent", new_agent_id, what="new_agent_id")
        token = validate.fencing_token(fencing_token, optional=True)
        for _ in range(_FORK_TRIES):
            parts, member, raw, born, source_id = await self._read("fork_source", agent_id, agent_id, ref)
            source = _consistent(parts)
            copy = AgentCheckpoint(
                agent_id=target,
                step=source.step,
                state=source.state,
                recoverable=source.recoverable,
                metadata=source.metadata,
            )
            op = self._op_id()
            body = self._encode(checkpoint_body(copy, op), what=f"fork of checkpoint {source_id!r}")
            local = target == agent_id
            head = [
                copy.checkpoint_id,
                copy.step,
                copy.recoverable,
                body,
                self.max_checkpoints,
                "" if local else agent_id,
                source_id,
                born,
            ]
            try:
                reply = await self._write(
                    "fork_checkpoint", target, token, *head, member if local else "", "" if local else raw, op_id=op
                )
            except VersionConflictError:  # the source was saved again between the read and the fork
                continue
            return checkpoint_from_save(loads(body), await self._indexed(target, reply))
        raise VersionConflictError(
            f"checkpoint {agent_id}/{source_id} kept changing while it was forked",
            kind="checkpoint",
            id=f"{agent_id}/{source_id}",
        )

    async def get_checkpoint_tree(self, agent_id: str) -> CheckpointTree:
        """The agent's checkpoints as a lineage forest (``nodes``, ``roots``, ``head``; ``as_dict()`` is Kaizen's).

        >>> tree = await store.get_checkpoint_tree("researcher_01")
        >>> tree.lineage("task_step_7")        # ['task_step_7', 'task_step_6', 'task_step_5']
        """
        validate_id("agent", agent_id)
        return tree_from_reply(agent_id, await self._read("checkpoint_tree", agent_id))

    async def list_all_checkpoints(self, *, limit: int = 100, after: str | None = None) -> list[CheckpointNode]:
        """Every agent's checkpoints (lineage nodes), agent by agent in id order, each agent newest first.

            >>> page = await store.list_all_checkpoints(limit=100)
            >>> more = await store.list_all_checkpoints(limit=100, after=page[-1].agent_id)

        Paged by agent from the cross-agent index (never a SCAN): a page holds whole agents and stops
        once it has ``limit`` checkpoints or more (at most ``limit + max_checkpoints - 1``); ``after``
        is the last agent id of the previous page. An empty page is the end.
        """
        validate.integer("limit", limit)
        cursor = "" if after is None else validate_id("agent", after, what="after")
        idx = self.keys.index(CHECKPOINT_INDEX)
        out: list[CheckpointNode] = []
        while len(out) < limit:
            agents = await self.backend.run("agents/index_page", [idx.base], [cursor, min(limit, 100)])
            if not agents:
                break
            trees = await asyncio.gather(*(self.get_checkpoint_tree(a) for a in agents))
            for agent, tree in zip(agents, trees):
                cursor = agent
                out += tree.nodes.values()
                if len(out) >= limit:
                    break
        return out

    def _encode(self, value: Any, what: str) -> bytes:
        return encode(value, max_bytes=self.backend.max_value_bytes, what=what)

    def _agent_key(self, agent_id: str, suffix: str) -> str:
        """A key of the agent's own (a checkpoint's body, a staged body), under its hash tag."""
        key: str = self.keys.entity("agent", agent_id)(suffix)
        return key

    async def _indexed(self, agent_id: str, reply: str) -> str:
        """A save's or fork's reply without its '+' (the agent's first checkpoint), listing the agent then."""
        if reply.startswith("+"):
            incarnation, _, rest = reply[1:].partition("{")
            await self._index("index_add", agent_id, incarnation)
            return "{" + rest
        return reply

    async def _index(self, verb: str, agent_id: str, incarnation: str) -> None:
        """Add the agent to (or drop it from) the cross-agent index; a failure is logged, never raised."""
        try:
            validate_id("agent", agent_id)
            idx = self.keys.index(CHECKPOINT_INDEX)
            await self.backend.run(f"agents/{verb}", [idx.base, idx("versions")], [agent_id, incarnation])
        except InvalidInputError:
            return  # the agent's own write reports it
        except Exception as exc:  # noqa: BLE001 - the agent's write is what matters; listing re-reads agents
            log.warning("agent %r: checkpoint index not updated (%s)", agent_id, exc)

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
        outcome: str = await self._write("delete", agent_id, token)
        deleted, _, incarnation = outcome.partition(":")
        await self._index("index_drop", agent_id, incarnation)
        return deleted == "1"

    async def recovery_attempts(self, agent_id: str) -> int:
        """Recovery attempts counted for the agent (see AgentRecoveryManager)."""
        return int(await self._read("recovery_attempts", agent_id))

    async def _newest_first(self, verb: str, agent_id: str, limit: int | None) -> Any:
        """The reply of a script listing an agent's snapshots or checkpoints, the newest ``limit``
        (None or 0: all that are kept)."""
        if limit is not None:
            validate.integer("limit", limit)
        return await self._read(verb, agent_id, limit or 0)

    async def _delete_one(self, verb: str, agent_id: str, what: str, item_id: str, fencing_token: int | None) -> bool:
        """Run a script deleting one snapshot or checkpoint (``what`` names its id); True if it existed."""
        validate.name(what, item_id)
        token = validate.fencing_token(fencing_token, optional=True)
        return bool(await self._write(verb, agent_id, token, item_id) == "1")

    async def _recover(
        self, agent_id: str, checkpoint_id: str, max_attempts: int, fencing_token: int | None
    ) -> tuple[AgentCheckpoint, int]:
        token = validate.fencing_token(fencing_token, optional=True)
        reply = await self._write("recover", agent_id, token, _checkpoint_ref(checkpoint_id), max_attempts)
        return _consistent(reply[1:]), int(reply[0])

    async def _reset_recovery(self, agent_id: str, fencing_token: int | None) -> None:
        token = validate.fencing_token(fencing_token, optional=True)
        await self._write("reset_recovery", agent_id, token)

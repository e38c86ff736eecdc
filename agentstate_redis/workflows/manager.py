"""WorkflowStateManager: step tracking, automatic checkpoints, pause/resume/cancel in Redis.

    >>> wf = WorkflowStateManager(persistence="redis", checkpoint_interval=5)
    >>> await wf.create(WorkflowState(workflow_id="research_pipeline", total_steps=10))
    >>> await wf.update_step("research_pipeline", StepState(step_number=1, name="data_collection",
    ...                      status="completed", result={"documents": 150}, duration_ms=5400))
    >>> (await wf.get("research_pipeline")).current_step
    1
    >>> await wf.pause("research_pipeline"); await wf.resume("research_pipeline")
    >>> await wf.cancel("research_pipeline", reason="User requested cancellation")

The status machine lives in the scripts (``lua/workflows/``):
pending -> running -> paused <-> running -> completed | failed | cancelled. An
illegal move raises InvalidTransitionError naming the current status and writes
nothing. ``update_step`` starts a pending workflow, ``current_step`` is the
highest n with steps 1..n completed/skipped, the workflow completes when that
reaches ``total_steps`` and fails when a step fails without ``retry=True``.
Every ``checkpoint_interval`` completed steps the same script writes checkpoint
``auto-<completed steps>`` (the interval is fixed per workflow at ``create``).
An identical re-send of a step update (same number, status and record) writes
nothing and returns the current state, whatever the status; a step only counts
(for current_step, completion and checkpoints) the first time it becomes done.

Retention: at most ``max_checkpoints`` (default 50) checkpoints per workflow,
oldest dropped first; at most ``history_limit`` (default 1000) history entries
(steps and transitions) per workflow.

Listing by status uses an index under its own hash tag (``keys.index("workflows")``),
updated by a second script call right after each transition and guarded by the
workflow's version, so racing or replayed updates converge on the newest status.
It is eventually consistent: a process that dies between the two calls leaves the
workflow filed under its old status. ``list_workflows`` re-checks every id it
returns against the workflow itself, repairs stale entries as it goes and drops
the entries of workflows that no longer exist (deleted or expired);
``reindex()`` (SCAN over workflows, every primary, then a walk over the index)
repairs everything, including a workflow missing from the index. Growth bound:
the index holds one member and one versions field (about the id's length plus
20 bytes each) per existing workflow, plus one per deleted or expired workflow
that no ``list_workflows`` page of its status and no ``reindex()`` has met yet.
Every script touches one hash tag only.

Leases: ``acquire_lease`` returns a fencing token. While a lease is live, every
operation that drives the workflow forward or back needs the holder's token
(``fencing_token=``; without it, or with a stale one, LeaseError and nothing is
written): ``update_step``, ``checkpoint``, ``resume`` and ``resume_from``. So two
workers cannot drive one workflow, and nobody rewinds or restarts a workflow
under its holder. ``pause`` and ``cancel`` need no token, deliberately: an
orchestrator can always stop a worker. Stopping is always safe, because the
holder's next ``update_step`` is refused by the status machine (paused or
cancelled). To resume a workflow another process leases, pass its token, or wait
until the holder releases the lease or it lapses. A stale token is refused even
when no lease is live. ``start`` (pending -> running) needs none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from .. import validate
from ..codec import loads
from ..decode import pairs, server_time
from ..errors import InvalidInputError
from ..events import ChangeEvent, GapCallback
from ..subscription import Subscription
from ..subscription import DEFAULT_MAX_PENDING
from ..keys import validate_id
from ..manager import BaseManager, Layout
from ..validate import integer, name
from .models import (
    CHECKPOINT_ID_MAX,
    MAX_STEPS,
    StepState,
    StepStatus,
    WorkflowCheckpoint,
    WorkflowEvent,
    WorkflowState,
    WorkflowStatus,
)

log = logging.getLogger("agentstate_redis.workflows")

WorkflowCallback = Callable[[WorkflowEvent], Any]
_CREATABLE = (WorkflowStatus.PENDING, WorkflowStatus.RUNNING)


def _opt(raw: str | None) -> Any:
    return loads(raw) if raw else None


def _decode_state(workflow_id: str, base: dict[str, str], ctx: dict[str, str]) -> WorkflowState:
    failed = base.get("failed_step")
    return WorkflowState.model_construct(
        workflow_id=workflow_id,
        status=WorkflowStatus(base["status"]),
        total_steps=int(base["total"]),
        current_step=int(base["cur"]),
        context={k: loads(v) for k, v in ctx.items()},
        name=_opt(base.get("name")),
        metadata=_opt(base.get("meta")) or {},
        checkpoint_interval=int(base.get("interval", 0)),
        completed_steps=int(base.get("done", 0)),
        version=int(base.get("#v", 0)),
        error=_opt(base.get("error")),
        failed_step=int(failed) if failed else None,
        cancel_reason=_opt(base.get("reason")),
        restored_from=base.get("restored_from"),
        created_at=server_time(base.get("created")),
        updated_at=server_time(base.get("updated")),
        started_at=server_time(base.get("started")),
        finished_at=server_time(base.get("finished")),
        restored_at=server_time(base.get("restored_at")),
    )


def _decode_checkpoint(workflow_id: str, item: list[str]) -> WorkflowCheckpoint:
    """One checkpoint as the scripts give it: [id, step, at, auto, snapshot, state, key, value, ...]."""
    cp_id, step, at, auto, snap, state = item[:6]
    ctx = pairs(item[6:])
    if state:
        stored_state: Any = loads(state)
        try:
            stored_state = WorkflowState.parse(stored_state)
        except InvalidInputError:
            pass  # the caller stored some other dict: return it as it was
    else:
        snap_fields = pairs(loads(snap))
        stored_state = _decode_state(workflow_id, snap_fields, ctx) if snap_fields else None
    return WorkflowCheckpoint.model_construct(
        workflow_id=workflow_id,
        checkpoint_id=cp_id,
        step=int(step),
        state=stored_state,
        context={key: loads(v) for key, v in ctx.items()},
        timestamp=server_time(at),
        automatic=auto == "1",
    )


def _status(value: WorkflowStatus | str) -> WorkflowStatus:
    try:
        return WorkflowStatus(value)
    except ValueError:
        raise InvalidInputError(
            f"unknown workflow status {value!r}; choose one of {[s.value for s in WorkflowStatus]}"
        ) from None


class WorkflowStateManager(BaseManager):
    """Workflow execution state shared by every process (see the module docstring)."""

    kind = "wf"
    layout = Layout("wf", "workflows", ("ctx", "steps", "stepst", "hist", "cp", "cpd", "lease"), noun="workflow")

    def __init__(
        self,
        persistence: Any = None,
        *,
        checkpoint_interval: int = 5,
        max_checkpoints: int = 50,
        history_limit: int = 1000,
        **settings: Any,
    ) -> None:
        self.checkpoint_interval = integer("checkpoint_interval", checkpoint_interval, minimum=0)
        self.max_checkpoints = integer("max_checkpoints", max_checkpoints)
        self.history_limit = integer("history_limit", history_limit)
        super().__init__(persistence, **settings)

    # -- keys ------------------------------------------------------------------------------------

    def _index_keys(self) -> list[str]:
        idx = self.keys.index("workflows")
        return [idx.base, idx("versions")]

    def _ctx_args(self, context: Mapping[str, Any] | None, what: str) -> list[str]:
        if context is None:
            return []
        if not isinstance(context, Mapping):
            raise InvalidInputError(f"{what} must be a dict, got {type(context).__name__}")
        args: list[str] = []
        for key, value in context.items():
            if not isinstance(key, str):
                raise InvalidInputError(f"{what} keys must be strings, got {key!r}")
            args += [key, self._dumps(value, what=f"{what}[{key!r}]")]
        return args

    async def _write_state(self, verb: str, workflow_id: str, *args: Any, step: bool = False) -> WorkflowState:
        """``_write`` of a verb whose script replies with the workflow, decoded; files it in the index."""
        validate_id("workflow", workflow_id)
        base, ctx = loads(await self._write(verb, workflow_id, *args))
        state = _decode_state(workflow_id, pairs(base), pairs(ctx))
        # A step that leaves a workflow running that was already running (started before this
        # update) cannot change its index entry: skip the second round trip.
        if not (step and state.status == WorkflowStatus.RUNNING and state.started_at != state.updated_at):
            await self._file(workflow_id, state.status, state.version)
        return state

    async def _file(self, workflow_id: str, status: WorkflowStatus, version: int) -> None:
        """File the workflow under its status in the listing index (version-guarded)."""
        try:
            await self.backend.run("workflows/index_set", self._index_keys(), [workflow_id, status.value, version])
        except Exception as exc:  # noqa: BLE001 - the index is repairable; the transition happened
            log.warning("workflow %r: listing index not updated (%s); reindex() repairs it", workflow_id, exc)

    # -- create and read -------------------------------------------------------------------------

    async def create(self, state: WorkflowState) -> WorkflowState:
        """Store a new workflow; an existing id raises AlreadyExistsError.

        >>> await wf.create(WorkflowState(workflow_id="etl", total_steps=3, context={"src": "s3"}))
        """
        state = validate.model("state", WorkflowState, state)
        if state.status not in _CREATABLE:
            raise InvalidInputError(
                f"workflow {state.workflow_id!r}: create with status pending or running, not {state.status.value!r}"
            )
        if state.current_step > state.total_steps:
            raise InvalidInputError(
                f"workflow {state.workflow_id!r}: current_step {state.current_step} is beyond "
                f"total_steps {state.total_steps}"
            )
        validate_id("workflow", state.workflow_id)
        interval = self.checkpoint_interval if state.checkpoint_interval is None else state.checkpoint_interval
        return await self._write_state(
            "create",
            state.workflow_id,
            state.status.value,
            state.total_steps,
            state.current_step,
            interval,
            self._dumps(state.name, what="name"),
            self._dumps(state.metadata, what="metadata"),
            self.history_limit,
            *self._ctx_args(state.context, "context"),
        )

    async def get(self, workflow_id: str) -> WorkflowState:
        """The stored workflow; NotFoundError if there is none.

        >>> current = await wf.get("etl"); print(f"{current.current_step}/{current.total_steps}")
        """
        base, ctx = loads(await self._read("get", workflow_id, workflow_id))
        return _decode_state(workflow_id, pairs(base), pairs(ctx))

    async def get_status(self, workflow_id: str) -> WorkflowStatus:
        """The workflow's status: ``await wf.get_status("etl")`` -> WorkflowStatus.PAUSED."""
        return (await self.get(workflow_id)).status

    async def get_steps(self, workflow_id: str) -> list[StepState]:
        """The latest record of each step, by step number: ``await wf.get_steps("etl")``."""
        flat = await self._read("steps", workflow_id, workflow_id)
        records = pairs(flat)
        return [StepState.parse(loads(records[n])) for n in sorted(records, key=int)]

    async def history(self, workflow_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """Newest-first history entries (``op``: create, step, pause, resume, cancel, checkpoint,
        resume_from, start), each with ``at`` (server ms) and ``version``; steps carry ``record``
        (a StepState). ``await wf.history("etl", limit=20)``"""
        integer("limit", limit)
        entries = []
        for raw in await self._read("history", workflow_id, workflow_id, limit):
            entry = loads(raw)
            if "record" in entry:
                entry["record"] = StepState.parse(loads(entry["record"]))
            if "reason" in entry:
                entry["reason"] = _opt(entry["reason"])
            entries.append(entry)
        return entries

    async def step_history(self, workflow_id: str, limit: int = 100) -> list[StepState]:
        """Newest-first step updates (all of them, not only the latest per step)."""
        return [e["record"] for e in await self.history(workflow_id, limit) if e["op"] == "step"]

    # -- steps -----------------------------------------------------------------------------------

    async def update_step(
        self,
        workflow_id: str,
        step: StepState,
        *,
        context: Mapping[str, Any] | None = None,
        fencing_token: int | None = None,
    ) -> WorkflowState:
        """Record a step's progress; ``context`` merges top-level keys into the workflow context.

            >>> await wf.update_step("etl", StepState(step_number=1, status="completed", duration_ms=40))

        Raises InvalidTransitionError on a paused, cancelled, completed or failed workflow
        (or when moving a done step back), LeaseError when a live lease's token is missing or stale.
        """
        step = validate.model("step", StepState, step)
        return await self._write_state(
            "update_step",
            workflow_id,
            step.step_number,
            step.status.value,
            step.retry,
            self._dumps(step, what=f"step {step.step_number}"),
            "" if step.error is None else self._dumps(step.error, what="error"),
            validate.fencing_token(fencing_token, optional=True),
            self.history_limit,
            self.max_checkpoints,
            *self._ctx_args(context, "context"),
            step=True,
        )

    # -- transitions -----------------------------------------------------------------------------

    async def _move(self, verb: str, workflow_id: str, *extra: Any) -> WorkflowState:
        return await self._write_state(verb, workflow_id, self.history_limit, *extra)

    async def start(self, workflow_id: str) -> WorkflowState:
        """pending -> running: ``await wf.start("etl")`` (the first update_step does this too)."""
        return await self._move("start", workflow_id)

    async def pause(self, workflow_id: str) -> WorkflowState:
        """running -> paused; step updates fail until ``resume``: ``await wf.pause("etl")``.

        Needs no fencing token even while a lease is live: stopping a worker is always safe.
        """
        return await self._move("pause", workflow_id)

    async def resume(self, workflow_id: str, *, fencing_token: int | None = None) -> WorkflowState:
        """paused -> running: ``await wf.resume("etl")``.

        While a lease is live only its holder may resume: pass ``fencing_token=`` (LeaseError
        without it or with a stale one).
        """
        return await self._move("resume", workflow_id, validate.fencing_token(fencing_token, optional=True))

    async def cancel(self, workflow_id: str, reason: str | None = None) -> WorkflowState:
        """pending|running|paused -> cancelled (terminal): ``await wf.cancel("etl", reason="user")``.

        Needs no fencing token even while a lease is live: stopping a worker is always safe.
        """
        if reason is not None and not isinstance(reason, str):
            raise InvalidInputError(f"reason must be a string, got {type(reason).__name__}")
        return await self._move("cancel", workflow_id, self._dumps(reason, what="reason"))

    # -- checkpoints -----------------------------------------------------------------------------

    async def checkpoint(
        self, checkpoint: WorkflowCheckpoint, *, fencing_token: int | None = None
    ) -> WorkflowCheckpoint:
        """Store a named checkpoint (step defaults to current_step, context to the stored one).

            >>> await wf.checkpoint(WorkflowCheckpoint(workflow_id="etl", checkpoint_id="after_load", step=2))

        An existing checkpoint id raises AlreadyExistsError; ids starting with ``auto-`` are reserved.
        """
        checkpoint = validate.model("checkpoint", WorkflowCheckpoint, checkpoint)
        if checkpoint.checkpoint_id.startswith("auto-"):
            raise InvalidInputError(
                f"checkpoint id {checkpoint.checkpoint_id!r}: ids starting with 'auto-' are reserved "
                "for automatic checkpoints"
            )
        wid = checkpoint.workflow_id
        validate_id("workflow", wid)
        state = "" if checkpoint.state is None else self._dumps(checkpoint.state, what="checkpoint state")
        args = [
            checkpoint.checkpoint_id,
            "" if checkpoint.step is None else checkpoint.step,
            state,
            "0" if checkpoint.context is None else "1",
            self.max_checkpoints,
            self.history_limit,
            validate.fencing_token(fencing_token, optional=True),
            *self._ctx_args(checkpoint.context, "checkpoint context"),
        ]
        # One call: the script replies with the checkpoint as stored (a read-back could miss it, capped
        # away by concurrent writers). A checkpoint never changes the status: the index is left alone.
        _base, _ctx, item = loads(await self._write("checkpoint", wid, *args))
        return _decode_checkpoint(wid, item)

    async def list_checkpoints(self, workflow_id: str, limit: int | None = None) -> list[WorkflowCheckpoint]:
        """Checkpoints newest first (at most ``max_checkpoints`` are kept): ``await wf.list_checkpoints("etl")``."""
        validate_id("workflow", workflow_id)
        limit = self.max_checkpoints if limit is None else integer("limit", limit)
        reply = await self._read("list_checkpoints", workflow_id, workflow_id, limit)
        return [_decode_checkpoint(workflow_id, item) for item in reply]

    async def resume_from(
        self, workflow_id: str, checkpoint_id: str, *, fencing_token: int | None = None
    ) -> WorkflowState:
        """Restore current_step and context from a checkpoint, atomically, and run on.

            >>> await wf.resume_from("etl", "auto-5")

        Steps after the checkpoint's step are forgotten (to be run again); the restore is
        recorded (``restored_from``, ``restored_at``, a history entry and an event).
        Refused (InvalidTransitionError) on a completed or cancelled workflow. A rewind drives the
        workflow: while a lease is live only its holder may do it, with ``fencing_token=``
        (LeaseError without it or with a stale one).
        """
        name("checkpoint_id", checkpoint_id, max_chars=CHECKPOINT_ID_MAX)
        return await self._write_state(
            "resume_from",
            workflow_id,
            checkpoint_id,
            self.history_limit,
            validate.fencing_token(fencing_token, optional=True),
        )

    # -- leases ----------------------------------------------------------------------------------

    async def acquire_lease(self, workflow_id: str, owner: str, ttl: float = 30.0) -> int:
        """Become the one worker driving the workflow; returns a fencing token.

            >>> token = await wf.acquire_lease("etl", owner="worker-1", ttl=30)
            >>> await wf.update_step("etl", StepState(step_number=2, status="completed"), fencing_token=token)

        LeaseError if another owner holds a live lease.
        """
        name("owner", owner)
        validate_id("workflow", workflow_id)
        return int(await self._write("lease_acquire", workflow_id, owner, validate.milliseconds("lease ttl", ttl)))

    async def renew_lease(self, workflow_id: str, fencing_token: int, ttl: float = 30.0) -> None:
        """Extend the lease held with ``fencing_token`` (LeaseError if it is stale)."""
        validate_id("workflow", workflow_id)
        await self._read(
            "lease_renew",
            workflow_id,
            workflow_id,
            validate.fencing_token(fencing_token),
            validate.milliseconds("lease ttl", ttl),
        )

    async def release_lease(self, workflow_id: str, fencing_token: int) -> None:
        """Give the lease up (LeaseError if the token is stale)."""
        validate_id("workflow", workflow_id)
        await self._read("lease_release", workflow_id, workflow_id, validate.fencing_token(fencing_token))

    # -- listing ---------------------------------------------------------------------------------

    async def list_workflows(
        self, status: WorkflowStatus | str, *, limit: int = 100, after: str | None = None
    ) -> list[str]:
        """Ids of workflows with ``status``, in id order; page on with ``after=<last id>``.

            >>> page = await wf.list_workflows(WorkflowStatus.RUNNING, limit=50)
            >>> more = await wf.list_workflows("running", limit=50, after=page[-1])

        Each id is checked against the workflow itself; stale index entries are repaired
        and skipped, and entries of workflows that no longer exist are dropped (see the module
        docstring), so a short page means the end.
        """
        wanted = _status(status)
        integer("limit", limit)
        if after is not None and not isinstance(after, str):
            raise InvalidInputError(f"after must be a workflow id string, got {after!r}")
        cursor = after or ""
        out: list[str] = []
        head = len(wanted.value) + 1
        while len(out) < limit:
            members = await self.backend.run(
                "workflows/index_list", self._index_keys()[:1], [wanted.value, cursor, limit - len(out)]
            )
            if not members:
                break
            ids = [m[head:] for m in members]
            cursor = ids[-1]
            actual = await asyncio.gather(*(self._peek(i) for i in ids))
            for wid, found in zip(ids, actual):
                if found is None:
                    await self._forget(wid, wanted)
                    continue
                if found[0] == wanted:
                    out.append(wid)
                else:
                    await self._file(wid, found[0], found[1])
        return out

    async def count_workflows(self, status: WorkflowStatus | str) -> int:
        """How many workflows the index files under ``status`` (eventually consistent)."""
        return int(await self.backend.run("workflows/index_count", self._index_keys()[:1], [_status(status).value]))

    async def _forget(self, workflow_id: str, status: WorkflowStatus) -> None:
        """Drop a workflow that no longer exists from the index (it was listed under ``status``)."""
        try:
            await self.backend.run("workflows/index_drop", self._index_keys(), [workflow_id, status.value])
        except Exception as exc:  # noqa: BLE001 - a listing still skips the entry; the next one retries
            log.warning("workflow %r: stale index entry not dropped (%s)", workflow_id, exc)

    async def _peek(self, workflow_id: str) -> tuple[WorkflowStatus, int] | None:
        reply = await self._read("status", workflow_id)
        return (WorkflowStatus(reply[0]), int(reply[1])) if reply else None

    async def reindex(self) -> int:
        """Re-file every workflow under its current status (SCAN, every primary), then walk the index
        and drop the entries of workflows that no longer exist; returns how many workflows exist."""
        count = 0
        async for redis_key in self.backend.scan(self.keys.entity_pattern("wf")):
            parsed = self.keys.parse_base(redis_key)
            if parsed is None or parsed[0] != "wf":
                continue
            found = await self._peek(parsed[1])
            if found is not None:
                await self._file(parsed[1], *found)
                count += 1
        for status in WorkflowStatus:  # listing every page re-checks each id: ghosts are dropped
            page = await self.list_workflows(status, limit=500)
            while len(page) == 500:
                page = await self.list_workflows(status, limit=500, after=page[-1])
        return count

    # -- events ----------------------------------------------------------------------------------

    def subscribe(
        self,
        workflow_id_glob: str,
        callback: WorkflowCallback,
        *,
        on_gap: GapCallback | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> Subscription:
        """Call ``callback(WorkflowEvent)`` for every change to matching workflows, from any process.

            >>> sub = wf.subscribe("research_*", lambda ev: print(ev.workflow_id, ev.op, ev.status))
            >>> await sub   # optional: wait until the subscription is live

        Pub/sub is at-most-once: whatever this subscription may have missed (its queue of
        ``max_pending`` events overflowed, the connection was lost) reaches ``on_gap(Gap)``; re-read
        with ``get``. Fields too large for one event are left out and named in ``event.omitted``.
        """
        return self._subscribe_typed(
            "workflow_id_glob",
            workflow_id_glob,
            callback,
            lambda event: callback(to_workflow_event(event)),
            on_gap=on_gap,
            max_pending=max_pending,
        )

    def unsubscribe(self, workflow_id_glob: str, callback: WorkflowCallback) -> None:
        self._unsubscribe_typed("workflow_id_glob", workflow_id_glob, callback)


def to_workflow_event(event: ChangeEvent) -> WorkflowEvent:
    """A raw ChangeEvent of kind "wf" as a typed WorkflowEvent."""
    d = event.data
    reason = d.get("reason")
    return WorkflowEvent.model_construct(
        workflow_id=event.id,
        op=event.op,
        version=event.version,
        status=WorkflowStatus(d["status"]) if d.get("status") else None,
        previous_status=WorkflowStatus(d["previous_status"]) if d.get("previous_status") else None,
        current_step=d.get("current_step"),
        completed_steps=d.get("completed_steps"),
        step_number=d.get("step"),
        step_status=StepStatus(d["step_status"]) if d.get("step_status") else None,
        checkpoint_id=d.get("checkpoint"),
        reason=loads(reason) if reason else None,
        timestamp=server_time(d.get("at")),
        omitted=event.omitted,
    )


__all__ = ["MAX_STEPS", "WorkflowStateManager", "to_workflow_event"]

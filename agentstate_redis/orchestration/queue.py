"""The team task queue: enqueue, claim with a lease and fencing token, complete, fail, retry.

    >>> await orch.enqueue_task("team", {"id": "t1", "type": "analysis", "priority": "high", "data": {...}})
    >>> task = await orch.claim_task("team", "worker-1", capabilities=["analysis"], lease=30, wait=5)
    >>> await orch.heartbeat("team", "worker-1")                       # extends the lease
    >>> await orch.complete_task("team", task.id, {"ok": True}, token=task.token)
    >>> nxt = await orch.complete_and_claim("team", task.id, {"ok": True}, token=task.token)  # + the next task
    >>> await orch.release_task("team", task.id, token=task.token)      # or: give it back unfinished

Every call is one Lua script under the team's hash tag. Expired leases go
back to pending (counted as stalls) when any claim or ``reap`` runs; a stale
fencing token is refused with LeaseError, so each task has exactly one
accepted completion.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, Literal

from ..errors import (
    AgentStateError,
    BackendOutOfMemoryError,
    BackendUnavailableError,
    InvalidInputError,
    TaskCancelledError,
)
from ..keys import validate_id
from ..scripts import is_transient
from ..tracing import receive, send, settle
from ..validate import integer, positive_number, sequence, strings
from .models import TASK_INPUT, Backoff, ClaimedTask, OnDependencyFailure, Task, check_name
from .teams import TeamOps, _checked
from .wire import as_list, decode_claimed, decode_task, flow_task_args, reply, task_args

log = logging.getLogger("agentstate_redis.orchestration")

ENQUEUE_BATCH = 500  # tasks per enqueue script call (each batch is atomic)
MAX_BLOCK_SECONDS = 5.0  # one BLPOP at most this long (under the client's socket timeout)
REAP_LIMIT = 100  # leases/retries one script moves (the scripts' REAP_LIMIT)
QueueName = Literal["pending", "waiting", "delayed", "in_progress", "retry", "completed", "dead", "cancelled"]
QUEUES = ("pending", "waiting", "delayed", "in_progress", "retry", "completed", "dead", "cancelled")


def to_task(task: Task | Mapping[str, Any], max_attempts: int) -> Task:
    """A task from a Task or a dict; unknown top-level keys go to ``extra``, a missing id is generated."""
    if isinstance(task, Task):
        return task
    if not isinstance(task, Mapping):
        raise InvalidInputError(f"task must be a dict or a Task, got {type(task).__name__}")
    known = {k: v for k, v in task.items() if k in TASK_INPUT}
    extra = {k: v for k, v in task.items() if k not in known}
    for key in extra:
        if not isinstance(key, str):
            raise InvalidInputError(f"task keys must be strings, got {key!r}")
    known.setdefault("id", uuid.uuid4().hex)
    known.setdefault("max_attempts", max_attempts)
    return Task(**known, extra=extra)


def with_dependencies(
    task: Task, depends_on: Iterable[str] | None, on_dependency_failure: OnDependencyFailure | None
) -> Task:
    """``task`` with the ``depends_on``/``on_dependency_failure`` keywords of enqueue_task applied;
    a task that already names other dependencies is refused (one place says what it waits for)."""
    given: dict[str, Any] = {}
    if depends_on is not None:
        given["depends_on"] = list(strings("depends_on", depends_on))
    if on_dependency_failure is not None:
        given["on_dependency_failure"] = on_dependency_failure
    checked = Task(id=task.id, **given)  # the model's own checks, as for a task dict's fields
    if task.depends_on and "depends_on" in given and task.depends_on != checked.depends_on:
        raise InvalidInputError(
            f"task {task.id!r} has depends_on {task.depends_on} and the depends_on keyword "
            f"{checked.depends_on}: give them once",
            kind="task",
            id=task.id,
        )
    return task.model_copy(update={name: getattr(checked, name) for name in given})


def _due(delay: float | None, run_at: float | None) -> tuple[Any, Any]:
    """ARGV run_at ms, delay ms of the enqueue script ('' = not given) from the keywords."""
    if delay is not None and run_at is not None:
        raise InvalidInputError("pass delay or run_at, not both")
    if run_at is not None:
        at = positive_number("run_at", run_at, maximum=float(2**43 // 1000))
        return int(at * 1000), ""
    if delay is not None:
        return "", int(positive_number("delay", delay, allow_zero=True) * 1000)
    return "", ""


class QueueOps(TeamOps):
    # -- producing ---------------------------------------------------------------------------

    @send("enqueue", "task")
    async def enqueue_task(
        self,
        team_id: str,
        task: Task | Mapping[str, Any],
        *,
        delay: float | None = None,
        run_at: float | None = None,
        depends_on: Iterable[str] | None = None,
        on_dependency_failure: OnDependencyFailure | None = None,
    ) -> str:
        """Add one task; returns its id. Enqueuing an id that exists again changes nothing, nor
        does one whose task finished and was deleted (trimmed past ``completed_retention`` or
        ``dead_retention``, or purged) within ``enqueue_dedupe_window`` (24 h; at most 100000
        such ids per team are remembered). After that window the id is new again.

        ``await orch.enqueue_task("research_team", {"id": "task_002", "type": "analysis",
        "priority": "high", "data": {"topic": "AI trends"}})``

        ``delay=60`` (seconds from the server's now) or ``run_at=<epoch seconds, server clock>``
        makes the task ``delayed``: no claim takes it before then; it keeps its priority and
        place in line after (``promote_task`` makes it claimable at once).

        ``depends_on=["research-1", "research-2"]`` (ids of tasks of the team, in any status)
        makes it ``waiting`` until every one has completed; then it is pending, in its place in
        line, and its claim carries their results (``task.dependency_results``; also
        ``get_dependency_results``). A dependency that ends dead or cancelled makes it a dead
        letter naming that dependency (``on_dependency_failure="fail"``, the default) or counts
        as finished (``"ignore"``). An unknown dependency id is InvalidInputError, nothing written.
        Dependencies cannot be combined with ``delay``/``run_at``. See ``enqueue_flow`` for a graph.
        """
        item = to_task(task, self.max_attempts)
        if depends_on is not None or on_dependency_failure is not None:
            item = with_dependencies(item, depends_on, on_dependency_failure)
        if item.depends_on:
            if delay is not None or run_at is not None:
                raise InvalidInputError(
                    "a task with depends_on cannot also take delay or run_at", kind="task", id=item.id
                )
            await self._enqueue_flow(team_id, [item])
            return item.id
        return (await self._enqueue(team_id, [item], due=_due(delay, run_at)))[0]

    @send("enqueue", "tasks")
    async def enqueue_tasks(
        self,
        team_id: str,
        tasks: Iterable[Task | Mapping[str, Any]],
        *,
        delay: float | None = None,
        run_at: float | None = None,
    ) -> list[str]:
        """Add many tasks (one script per 500); returns the ids that were new (see enqueue_task,
        also for ``delay`` and ``run_at``, which apply to every task of the call)."""
        due = _due(delay, run_at)
        items = [to_task(t, self.max_attempts) for t in sequence("tasks", tasks)]
        for item in items:
            if item.depends_on:
                raise InvalidInputError(
                    f"task {item.id!r} has depends_on: enqueue it with enqueue_task or "
                    "enqueue_flow (enqueue_tasks takes independent tasks)",
                    kind="task",
                    id=item.id,
                )
        created: list[str] = []
        for start in range(0, len(items), ENQUEUE_BATCH):
            chunk = items[start : start + ENQUEUE_BATCH]
            marks = await self._enqueue(team_id, chunk, marks=True, due=due)
            created += [t.id for t, mark in zip(chunk, marks) if mark == "1"]
        return created

    async def _enqueue(
        self, team_id: str, tasks: Sequence[Task], marks: bool = False, due: tuple[Any, Any] = ("", "")
    ) -> list[str]:
        self._check_unique([t.id for t in tasks])
        args: list[Any] = []
        for task in tasks:
            args += task_args(task, self._dumps)
        if not args:
            return []
        out = await self._write("enqueue", team_id, self._window_ms(), *due, *args)
        return list(out) if marks else [t.id for t in tasks]

    async def _enqueue_flow(self, team_id: str, tasks: Sequence[Task]) -> str:
        """One orchestration/flow_enqueue call (all or nothing), ``tasks`` in dependency order;
        returns one mark per task ('1' created, '0' the id existed)."""
        self._check_unique([t.id for t in tasks])
        args: list[Any] = []
        for task in tasks:
            args += flow_task_args(task, self._dumps)
        return str(await self._write("flow_enqueue", team_id, self._window_ms(), self.dead_retention, *args))

    # -- working -----------------------------------------------------------------------------

    @receive("claim")
    async def claim_task(
        self,
        team_id: str,
        agent_id: str,
        capabilities: Iterable[str] | None = None,
        lease: float | None = None,
        *,
        wait: float = 0.0,
    ) -> ClaimedTask | None:
        """Take the highest-priority pending task this agent can do (FIFO within a priority).

        ``task = await orch.claim_task("t", "w1", capabilities=["analysis"], lease=30, wait=10)``.
        ``capabilities=None`` uses the agent's registered ones (none registered: any task);
        tasks without a required capability match everyone. The agent becomes ``working``
        (joining the team if new). Returns None if nothing matched within ``wait`` seconds;
        waiting blocks on a marker list the enqueue script pushes to, so it wakes at once.
        """
        validate_id("agent", agent_id)
        lease_ms = self._lease_ms(lease)
        wait = positive_number("wait", wait, allow_zero=True)
        mode = self._claim_mode(capabilities)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            out = reply(
                await self._write("claim", team_id, agent_id, lease_ms, self.max_stalls, *self._dead_limits(), *mode)
            )
            if "task" in out:
                return decode_claimed(out)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            # A blocked read is a silent connection too: keep it well inside the liveness timeout.
            block = min(remaining, MAX_BLOCK_SECONDS, self.backend.liveness_timeout / 2)
            if out.get("wait_ms", -1) >= 0:
                block = min(block, out["wait_ms"] / 1000 + 0.005)
            try:
                await self.backend.client.blpop(as_list(out.get("wake")), timeout=max(block, 0.01))
            except Exception as exc:
                # A dropped connection only ends this wait: the next claim script runs under the
                # runner's retry policy and raises BackendUnavailableError if the server stays away.
                if not is_transient(exc):
                    raise
                await asyncio.sleep(0.05)

    async def assign_task(
        self, team_id: str, task_id: str, agent_id: str, *, lease: float | None = None
    ) -> ClaimedTask:
        """A coordinator gives a pending task to a team agent (with the task's capability).

        ``await orch.assign_task("research_team", "task_002", "researcher")``. Without
        ``lease`` the task is held until completed or failed; completing it needs no token.
        """
        validate_id("task", task_id)
        validate_id("agent", agent_id)
        lease_ms = 0 if lease is None else self._ms(positive_number("lease", lease))
        return decode_claimed(reply(await self._write("assign", team_id, task_id, agent_id, lease_ms)))

    async def heartbeat(self, team_id: str, agent_id: str, lease: float | None = None) -> dict[str, float]:
        """Mark the agent alive and extend its leases (by ``lease`` s, default each task's own).

        ``await orch.heartbeat("t", "w1")`` -> ``{"task_002": <new deadline, server epoch s>}``.
        Sent without an op id: a retried heartbeat just extends again, and keep_alive's
        beats use no retry de-duplication memory. When ``cancel_task`` ended a task the agent
        held, this heartbeat (the first after the cancel) raises TaskCancelledError (``e.id``,
        ``e.reason``, every such id in ``e.tasks``; the other leases were extended, ``e.leases``).
        """
        validate_id("agent", agent_id)
        lease_ms = 0 if lease is None else self._ms(positive_number("lease", lease))
        data = reply(await self._write("heartbeat", team_id, agent_id, lease_ms, op_id=""))
        out = as_list(data.get("tasks"))
        cancelled = as_list(data.get("cancelled"))
        if cancelled:
            task_id, reason = cancelled[0], cancelled[1] or None
            why = f" (reason: {reason})" if reason else ""
            raise TaskCancelledError(
                f"task {task_id!r} of team {team_id!r} held by {agent_id!r} was cancelled{why}",
                kind="task",
                id=task_id,
                team=team_id,
                reason=reason,
                tasks=cancelled[0::2],
                leases={out[i]: int(out[i + 1]) / 1000 for i in range(0, len(out), 2)},
            )
        return {out[i]: int(out[i + 1]) / 1000 for i in range(0, len(out), 2)}

    @contextlib.asynccontextmanager
    async def keep_alive(self, team_id: str, agent_id: str, lease: float | None = None) -> AsyncIterator[None]:
        """Heartbeat every ``sync_interval`` seconds while the block runs.

        ``async with orch.keep_alive("t", "w1"): result = await long_llm_call()``
        Heartbeats run when the server is over maxmemory; one that fails because the server
        is unreachable (or refuses, BackendOutOfMemoryError) is logged and the next one comes
        ``sync_interval`` later, on entry as in the loop: the block runs either way.
        A heartbeat that reports a held task cancelled (``cancel_task`` from anywhere) cancels
        the block, and the ``async with`` raises that TaskCancelledError instead.
        """
        body = asyncio.current_task()
        cancelled: list[TaskCancelledError] = []

        def stop_body(exc: TaskCancelledError) -> None:
            log.info("heartbeat of %s in team %s: %s; stopping the work", agent_id, team_id, exc)
            cancelled.append(exc)
            if body is not None:
                body.cancel()

        try:
            await self.heartbeat(team_id, agent_id, lease)
        except (BackendUnavailableError, BackendOutOfMemoryError) as exc:
            log.warning("heartbeat of %s in team %s failed: %s", agent_id, team_id, exc)
        except TaskCancelledError:
            raise

        async def beat() -> None:
            while True:
                await asyncio.sleep(self.sync_interval)
                try:
                    await self.heartbeat(team_id, agent_id, lease)
                except TaskCancelledError as exc:
                    stop_body(exc)
                    return
                except AgentStateError as exc:
                    log.warning("heartbeat of %s in team %s failed: %s", agent_id, team_id, exc)

        task = asyncio.ensure_future(beat())
        try:
            yield
        except asyncio.CancelledError:
            if not cancelled:
                raise
            if body is not None and hasattr(body, "uncancel"):
                body.uncancel()
            raise cancelled[0] from None
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if cancelled:  # the cancel came as the block was returning: its result must not be used
            if body is not None and hasattr(body, "uncancel"):
                body.uncancel()
            raise cancelled[0]

    @settle("complete")
    async def complete_task(
        self, team_id: str, task_id: str, result: Any = None, *, agent_id: str | None = None, token: int | None = None
    ) -> Task:
        """Accept the result of an in-progress task; returns the completed task.

        ``await orch.complete_task("t", task.id, {"ok": True}, token=task.token)`` (a worker), or
        ``await orch.complete_task("t", "task_002", {...})`` (a coordinator, for an assigned task).
        A stale token raises LeaseError; a task not in progress raises InvalidTransitionError.
        The newest ``completed_retention`` (1000) completed tasks are kept; older ones are deleted
        and their ids refused by enqueue for ``enqueue_dedupe_window`` (24 h).
        """
        validate_id("task", task_id)
        args = [
            task_id,
            self._dumps(result, what=f"result of task {task_id!r}"),
            *self._holder(agent_id, token),
            self.completed_retention,
            self._window_ms(),
        ]
        return decode_task(reply(await self._write("complete", team_id, *args)))

    @settle("complete", claims="claim")
    async def complete_and_claim(
        self,
        team_id: str,
        task_id: str,
        result: Any = None,
        *,
        agent_id: str | None = None,
        token: int | None = None,
        capabilities: Iterable[str] | None = None,
        lease: float | None = None,
    ) -> ClaimedTask | None:
        """Complete a task and claim the holder's next one in the same script (one round trip).

        ``nxt = await orch.complete_and_claim("t", task.id, {"ok": True}, token=task.token)``.
        The completion is checked and recorded as by ``complete_task`` (a refused one raises
        LeaseError or InvalidTransitionError and claims nothing); then the task's holder (or
        ``agent_id``, which must be the holder) claims as by ``claim_task`` with ``capabilities``
        and ``lease``. Returns the newly claimed task, or None when nothing matched (it does not
        wait: call ``claim_task(..., wait=...)`` then). A retried call (same op id) returns the
        same task with the same token, or None again. When the server is over maxmemory the
        claim (new work) is refused before anything is written; the task is then completed
        alone, as by ``complete_task``, and None returned.
        """
        validate_id("task", task_id)
        holder = self._holder(agent_id, token)
        lease_ms = self._lease_ms(lease)
        mode = self._claim_mode(capabilities)
        done = [
            task_id,
            self._dumps(result, what=f"result of task {task_id!r}"),
            *holder,
            self.completed_retention,
            self._window_ms(),
        ]
        try:
            out = reply(
                await self._write(
                    "complete_claim", team_id, *done, lease_ms, self.max_stalls, self.dead_retention, *mode
                )
            )
        except BackendOutOfMemoryError:
            await self._write("complete", team_id, *done)
            return None
        return decode_claimed(out) if "task" in out else None

    def _lease_ms(self, lease: float | None) -> int:
        return self._ms(positive_number("lease", self.lease if lease is None else lease))

    @staticmethod
    def _claim_mode(capabilities: Iterable[str] | None) -> list[Any]:
        """ARGV of a claim: 'agent' (the registered capabilities) or 'given' and the capabilities."""
        if capabilities is None:
            return ["agent"]
        return ["given", *(_checked(check_name, c, "capability") for c in strings("capabilities", capabilities))]

    @settle("fail")
    async def fail_task(
        self,
        team_id: str,
        task_id: str,
        error: str | BaseException,
        retry: bool = True,
        *,
        agent_id: str | None = None,
        token: int | None = None,
        backoff: Backoff | None = None,
    ) -> Task:
        """Record a failed attempt: retried after a backoff while attempts remain, else a dead letter.

        ``await orch.fail_task("t", task.id, "timeout", token=task.token)``; ``retry=False``
        dead-letters at once. Returns the task (status ``retry``, ``pending`` or ``dead``).
        """
        validate_id("task", task_id)
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}"
        if not isinstance(error, str):
            raise InvalidInputError(f"error must be a string or an exception, got {type(error).__name__}")
        if not isinstance(retry, bool):
            raise InvalidInputError(f"retry must be True or False, got {retry!r}")
        policy = self.backoff if backoff is None else backoff
        if not isinstance(policy, Backoff):
            raise InvalidInputError(f"backoff must be a Backoff, got {type(policy).__name__}")
        delay = positive_number("backoff.delay", policy.delay, allow_zero=True)
        max_delay = positive_number("backoff.max_delay", policy.max_delay, allow_zero=True)
        args = [
            task_id,
            error,
            *self._holder(agent_id, token),
            retry,
            policy.kind,
            int(delay * 1000),
            int(max_delay * 1000),
            policy.jitter,
            random.random(),
            *self._dead_limits(),
        ]
        return decode_task(reply(await self._write("fail", team_id, *args)))

    @settle("release")
    async def release_task(
        self, team_id: str, task_id: str, *, agent_id: str | None = None, token: int | None = None
    ) -> Task:
        """Give an in-progress task back to pending, unfinished: not a failure, not a stall.

        ``await orch.release_task("t", task.id, token=task.token)`` (a worker shutting down).
        The task keeps its place in line and its attempt counts; the next claim gets a new
        fencing token, so a late completion with the old one is refused (LeaseError). A stale
        token raises LeaseError; a task not in progress raises InvalidTransitionError.
        """
        validate_id("task", task_id)
        return decode_task(reply(await self._write("release", team_id, task_id, *self._holder(agent_id, token))))

    @staticmethod
    def _holder(agent_id: str | None, token: int | None) -> list[Any]:
        if agent_id is not None:
            validate_id("agent", agent_id)
        if token is not None and (isinstance(token, bool) or not isinstance(token, int) or token < 1):
            raise InvalidInputError(f"token must be the positive integer claim_task returned, got {token!r}")
        return [agent_id or "", "" if token is None else token]

    async def reap(self, team_id: str) -> dict[str, int]:
        """Hand expired leases back to pending and make due retries pending now.

        Claims do this too; call it from a coordinator to keep an idle queue's
        status current. ``await orch.reap("t")`` -> ``{"stalled": 1, "promoted": 0}``.
        With ``auto_prune_after`` set, it then runs ``prune_agents(team_id, auto_prune_after)``
        and adds ``"pruned": <agents removed>``.
        """
        total = {"stalled": 0, "promoted": 0}
        while True:
            out = await self._write("reap", team_id, self.max_stalls, *self._dead_limits())
            stalled, promoted = map(int, out.split(","))
            total["stalled"] += stalled
            total["promoted"] += promoted
            if stalled < REAP_LIMIT and promoted < REAP_LIMIT:
                break
        if self.auto_prune_after is not None:
            total["pruned"] = len(await self.prune_agents(team_id, self.auto_prune_after))
        return total

    # -- reading -----------------------------------------------------------------------------

    async def get_task(self, team_id: str, task_id: str) -> Task:
        """One task with its status, attempts and error history (NotFoundError if unknown or trimmed)."""
        validate_id("task", task_id)
        return decode_task(await self._read("get_task", team_id, task_id))

    async def list_tasks(self, team_id: str, queue: QueueName, *, offset: int = 0, limit: int = 100) -> list[Task]:
        """A page of one queue: pending and in_progress in claim/deadline order, retry and delayed
        by due time, completed, dead and cancelled newest first."""
        if queue not in QUEUES:
            raise InvalidInputError(f"queue must be one of {', '.join(QUEUES)}, got {queue!r}")
        integer("offset", offset, minimum=0)
        integer("limit", limit)
        return [decode_task(v) for v in as_list(await self._read("list_tasks", team_id, queue, offset, limit))]

    # -- dead letters ------------------------------------------------------------------------

    async def list_dead(self, team_id: str, *, offset: int = 0, limit: int = 100) -> list[Task]:
        """Dead-letter tasks, newest first, each with its ``errors`` (the newest ``dead_retention``
        are kept, 10000; older ones are deleted)."""
        return await self.list_tasks(team_id, "dead", offset=offset, limit=limit)

    async def retry_dead(self, team_id: str, task_ids: Iterable[str] | None = None, *, limit: int = 100) -> list[str]:
        """Put dead tasks back in pending (failures reset); all of them up to ``limit`` if no ids."""
        return await self._dead("retry", team_id, task_ids, limit)

    async def purge_dead(self, team_id: str, task_ids: Iterable[str] | None = None, *, limit: int = 100) -> list[str]:
        """Delete dead tasks; the oldest ``limit`` if no ids. Their ids stay refused by enqueue
        for ``enqueue_dedupe_window`` (24 h)."""
        return await self._dead("purge", team_id, task_ids, limit)

    async def _dead(self, action: str, team_id: str, task_ids: Iterable[str] | None, limit: int) -> list[str]:
        integer("limit", limit)
        ids: list[str] = []
        if task_ids is not None:
            ids = [validate_id("task", t) for t in sequence("task_ids", task_ids)]
            if not ids:
                return []
        out = await self._write("dead", team_id, action, limit, self._window_ms(), *ids)
        return [str(i) for i in as_list(reply(out))]

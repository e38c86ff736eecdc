"""run_worker: claim, heartbeat, handle, complete (claiming the next task in the same call) or fail; stop gracefully.

    >>> async def handle(task: ClaimedTask) -> dict:
    ...     return {"summary": await summarize(task.data)}
    >>> stats = await run_worker(orch, "research_team", "pod-7", handle, capabilities=["research"], lease=30)
    >>> stats.completed, stats.released
    >>> worker = Worker(orch, "research_team", "pod-7", handle, WorkerSettings(capabilities=("research",)),
    ...                 on_outcome=record)       # the same loop, with hooks (the demo's workers run on it)
    >>> stats = await worker.run()

On SIGTERM or SIGINT (or when ``stop`` is set) the worker claims nothing more;
the task in hand gets ``grace`` seconds to finish (and is completed or failed as
usual), else its handler is cancelled and the task is released back to pending
with ``release_task``, in its place in line, for another worker. A task cancelled
(``cancel_task``, any process) while its handler runs has the handler cancelled at the next
heartbeat (``stats.cancelled``); the worker claims on. Then, at a stop, the agent
is marked ``offline`` and the coroutine returns, so the process can exit 0. Keep
``grace`` plus one claim wait below the pod's ``terminationGracePeriodSeconds``.
A worker killed outright (SIGKILL, OOM) loses nothing either: its lease runs out
and the task goes back to pending on the next claim or reap.

When Redis is over ``maxmemory`` (claims refused, BackendOutOfMemoryError) or
unreachable (BackendUnavailableError), the worker keeps its leases (heartbeats
still run), finishes the task in hand, and backs off between claims (0.5 s
doubling to ``MAX_BACKOFF``) until the server takes writes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import (
    AgentStateError,
    BackendOutOfMemoryError,
    BackendUnavailableError,
    LeaseError,
    OutcomeUnknownError,
    TaskCancelledError,
)
from ..orchestration import ClaimedTask, OrchestrationStateManager
from ..tracing import process
from .signals import stop_on_signals

log = logging.getLogger("agentstate_redis.worker")

Handler = Callable[[ClaimedTask], Awaitable[Any]]
Outcome = Literal["completed", "failed", "released", "cancelled", "lost"]
#: Called after each task's outcome: the task as claimed, what became of it, and the stored task
#: the outcome call returned (None for lost, cancelled, and for a completion that claimed the next one).
OutcomeHook = Callable[[ClaimedTask, Outcome, Any], Awaitable[None]]
#: Called when a claim found nothing within ``claim_wait`` (the worker is idle).
IdleHook = Callable[[], Awaitable[None]]
DEFAULT_GRACE = 20.0  # below Kubernetes' default terminationGracePeriodSeconds (30 s)
DEFAULT_CLAIM_WAIT = 2.0  # how long one claim blocks: the longest a stop waits for an idle worker
MIN_BACKOFF = 0.5  # first pause after a claim the server refused or could not take
MAX_BACKOFF = 5.0  # the longest pause between such claims
#: Failures after which a worker waits and claims again: the server is full or away, not the task wrong.
BACK_OFF_ON = (BackendUnavailableError, BackendOutOfMemoryError, OutcomeUnknownError)


@dataclass
class WorkerStats:
    """What one run_worker call did."""

    claimed: int = 0
    completed: int = 0
    failed: int = 0
    released: int = 0
    lost: int = 0  # results refused because the lease had been lost (another worker has the task)
    cancelled: int = 0  # tasks cancelled (cancel_task) while the handler ran: the handler was stopped


@dataclass(frozen=True)
class WorkerSettings:
    """How a Worker claims and finishes tasks (the keywords of run_worker).

    ``capabilities`` (None = the agent's registered ones), ``lease`` (None = the manager's),
    ``grace`` seconds a task in hand gets to finish at a stop, ``claim_wait`` seconds one claim
    blocks, ``retry_failures`` (False: a failed attempt is a dead letter at once), ``max_tasks``
    claims before the worker stops (None = no limit), ``schedules``: also run the team's scheduler,
    ``install_signals``: SIGTERM/SIGINT stop the worker.
    """

    capabilities: tuple[str, ...] | None = None
    lease: float | None = None
    grace: float = DEFAULT_GRACE
    claim_wait: float = DEFAULT_CLAIM_WAIT
    retry_failures: bool = True
    max_tasks: int | None = None
    schedules: bool = True
    install_signals: bool = True


async def run_worker(
    orch: OrchestrationStateManager,
    team_id: str,
    agent_id: str,
    handler: Handler,
    *,
    capabilities: Iterable[str] | None = None,
    lease: float | None = None,
    stop: asyncio.Event | None = None,
    grace: float = DEFAULT_GRACE,
    claim_wait: float = DEFAULT_CLAIM_WAIT,
    install_signals: bool = True,
    retry_failures: bool = True,
    max_tasks: int | None = None,
    schedules: bool = True,
) -> WorkerStats:
    """Work the team's queue until ``stop`` is set, a stop signal arrives, or ``max_tasks`` were claimed.

    ``await run_worker(orch, "t", "w1", handle, capabilities=["analysis"], lease=30, grace=20)``.
    The handler's return value is the task's result; an exception fails the attempt
    (retried with the manager's backoff while attempts remain, unless ``retry_failures``
    is False). ``capabilities=None`` claims with the agent's registered capabilities.
    With ``schedules`` (the default) the worker also runs the team's scheduler (run_scheduler)
    until it stops: each schedule tick is enqueued once however many workers run it.
    ``Worker(orch, team_id, agent_id, handler, WorkerSettings(...)).run(stop)`` is the same loop.
    """
    settings = WorkerSettings(
        capabilities=None if capabilities is None else tuple(capabilities),
        lease=lease,
        grace=grace,
        claim_wait=claim_wait,
        retry_failures=retry_failures,
        max_tasks=max_tasks,
        schedules=schedules,
        install_signals=install_signals,
    )
    return await Worker(orch, team_id, agent_id, handler, settings).run(stop)


@dataclass
class Worker:
    """One queue worker: claim, heartbeat while the handler runs, complete (claiming the next task in
    the same script) or fail; release the task in hand at a stop (see the module docstring).

    ``stats = await Worker(orch, "t", "w1", handle, WorkerSettings(lease=30)).run()``. ``on_outcome``
    hears of every task's end (``await on_outcome(task, "completed", stored)``), ``on_idle`` of every
    claim that found nothing; both run in the worker's loop, between tasks.
    """

    orch: OrchestrationStateManager
    team_id: str
    agent_id: str
    handler: Handler
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    on_outcome: OutcomeHook | None = None
    on_idle: IdleHook | None = None
    stats: WorkerStats = field(default_factory=WorkerStats)
    _stop: asyncio.Event = field(init=False, repr=False, default_factory=asyncio.Event)
    _caps: list[str] | None = field(init=False, repr=False, default=None)

    async def run(self, stop: asyncio.Event | None = None) -> WorkerStats:
        """Work until ``stop`` is set, a stop signal arrives (``install_signals``) or ``max_tasks`` were claimed."""
        s = self.settings
        self._stop = stop if stop is not None else asyncio.Event()
        self._caps = None if s.capabilities is None else list(s.capabilities)
        handle = process(self.handler, self.team_id, self.agent_id)  # in a span when tracing is on
        signals = stop_on_signals(self._stop) if s.install_signals else contextlib.nullcontext()
        scheduler = _start_scheduler(self.orch, self.team_id) if s.schedules else None
        async with _stopping(scheduler):
            with signals:
                await self._loop(handle)
        with contextlib.suppress(AgentStateError):
            await self.orch.update_agent_status(self.team_id, self.agent_id, "offline")
        log.info("worker %s stopped: %s", self.agent_id, self.stats)
        return self.stats

    def _more(self) -> bool:
        """Claim the next task along with this completion?"""
        limit = self.settings.max_tasks
        return not self._stop.is_set() and (limit is None or self.stats.claimed < limit)

    async def _loop(self, handle: Handler) -> None:
        nxt: ClaimedTask | None = None  # claimed by the previous completion (complete_and_claim)
        backoff = MIN_BACKOFF
        task: ClaimedTask | None
        s = self.settings
        while True:
            if nxt is not None:
                task, nxt = nxt, None
            elif self._stop.is_set() or (s.max_tasks is not None and self.stats.claimed >= s.max_tasks):
                return
            else:
                try:
                    task = await self.orch.claim_task(
                        self.team_id, self.agent_id, self._caps, s.lease, wait=s.claim_wait
                    )
                except BACK_OFF_ON as exc:
                    # a claim that may have applied leaves a task leased to nobody: its lease expiry frees it
                    log.warning("claim failed (%s); trying again in %.1f s", exc, backoff)
                    await _sleep_unless(self._stop, backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                backoff = MIN_BACKOFF
                if task is None:
                    if self.on_idle is not None:
                        await self.on_idle()
                    continue
                self.stats.claimed += 1
            if self._stop.is_set():  # the stop came while the claim was on its way: give the task back
                await self._release(task)
                return
            nxt = await self._work_on(task, handle)

    async def _tell(self, task: ClaimedTask, outcome: Outcome, stored: Any = None) -> None:
        if self.on_outcome is not None:
            await self.on_outcome(task, outcome, stored)

    async def _work_on(self, task: ClaimedTask, handle: Handler) -> ClaimedTask | None:
        """Run the handler on ``task`` under keep_alive; returns the next task when the completion claimed one.

        A cancel of the task (keep_alive's heartbeat raises TaskCancelledError) cancels the handler
        and is counted in ``stats.cancelled``; the task already ended ``cancelled`` on the server."""
        s = self.settings
        job: asyncio.Future[Any] | None = None
        try:
            async with self.orch.keep_alive(self.team_id, self.agent_id, s.lease):
                job = asyncio.ensure_future(handle(task))
                stopper = asyncio.ensure_future(self._stop.wait())
                try:
                    await asyncio.wait({job, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    if not job.done():
                        log.info("stopping: task %s gets up to %.1f s to finish", task.id, s.grace)
                        await asyncio.wait({job}, timeout=s.grace)
                finally:
                    stopper.cancel()
                if not job.done() or job.cancelled():
                    job.cancel()
                    await asyncio.wait({job}, timeout=1.0)
                    await self._release(task)
                    return None
        except TaskCancelledError as exc:
            if job is not None and not job.done():
                job.cancel()
                await asyncio.wait({job}, timeout=1.0)
            self.stats.cancelled += 1
            log.warning("task %s cancelled while its handler ran; handler stopped (%s)", task.id, exc)
            await self._tell(task, "cancelled")
            return None
        return await self._finish(task, job)

    async def _finish(self, task: ClaimedTask, job: asyncio.Future[Any]) -> ClaimedTask | None:
        """Complete or fail ``task``. A completion while the worker wants more work also claims the
        next task in the same script (one round trip per task, as BullMQ's worker does); returns it."""
        s = self.settings
        error = job.exception()
        nxt: ClaimedTask | None = None
        try:
            if error is None:
                stored = None
                if self._more():
                    nxt = await self.orch.complete_and_claim(
                        self.team_id,
                        task.id,
                        job.result(),
                        agent_id=self.agent_id,
                        token=task.token,
                        capabilities=self._caps,
                        lease=s.lease,
                    )
                    if nxt is not None:
                        self.stats.claimed += 1
                else:
                    stored = await self.orch.complete_task(self.team_id, task.id, job.result(), token=task.token)
                self.stats.completed += 1
                await self._tell(task, "completed", stored)
            else:
                log.info("task %s failed: %r", task.id, error)
                stored = await self.orch.fail_task(
                    self.team_id, task.id, error, retry=s.retry_failures, token=task.token
                )
                self.stats.failed += 1
                await self._tell(task, "failed", stored)
        except TaskCancelledError as exc:  # cancelled between its last heartbeat and the outcome
            self.stats.cancelled += 1
            log.warning("task %s cancelled; its result dropped (%s)", task.id, exc)
            await self._tell(task, "cancelled")
        except LeaseError as exc:
            self.stats.lost += 1
            log.warning("task %s: lease lost, result dropped (%s)", task.id, exc)
            await self._tell(task, "lost")
        except AgentStateError as exc:  # Redis gone past the retries: the lease runs out, the task comes back
            self.stats.lost += 1
            log.error("task %s: could not record the outcome (%s); its lease will expire", task.id, exc)
            await self._tell(task, "lost")
        return nxt

    async def _release(self, task: ClaimedTask) -> None:
        try:
            stored = await self.orch.release_task(self.team_id, task.id, token=task.token)
            self.stats.released += 1
            log.info("task %s released back to pending", task.id)
            await self._tell(task, "released", stored)
        except AgentStateError as exc:  # lost already, or Redis gone: the lease expiry hands it back
            self.stats.lost += 1
            log.warning("task %s: release refused (%s); its lease will expire", task.id, exc)
            await self._tell(task, "lost")


def _start_scheduler(orch: OrchestrationStateManager, team_id: str) -> tuple[asyncio.Event, asyncio.Future[Any]]:
    from .scheduler import run_scheduler

    halt = asyncio.Event()
    return halt, asyncio.ensure_future(run_scheduler(orch, team_id, stop=halt, install_signals=False))


@contextlib.asynccontextmanager
async def _stopping(scheduler: tuple[asyncio.Event, asyncio.Future[Any]] | None) -> Any:
    """Stop the worker's scheduler (if any) when its claim loop ends."""
    try:
        yield
    finally:
        if scheduler is not None:
            halt, job = scheduler
            halt.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(job, 10)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)

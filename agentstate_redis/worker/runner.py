"""run_worker: claim, heartbeat, handle, complete (claiming the next task in the same call) or fail; stop gracefully.

    >>> async def handle(task: ClaimedTask) -> dict:
    ...     return {"summary": await summarize(task.data)}
    >>> stats = await run_worker(orch, "research_team", "pod-7", handle, capabilities=["research"], lease=30)
    >>> stats.completed, stats.released

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
from dataclasses import dataclass
from typing import Any

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
DEFAULT_GRACE = 20.0      # below Kubernetes' default terminationGracePeriodSeconds (30 s)
DEFAULT_CLAIM_WAIT = 2.0  # how long one claim blocks: the longest a stop waits for an idle worker
MIN_BACKOFF = 0.5         # first pause after a claim the server refused or could not take
MAX_BACKOFF = 5.0         # the longest pause between such claims
#: Failures after which a worker waits and claims again: the server is full or away, not the task wrong.
BACK_OFF_ON = (BackendUnavailableError, BackendOutOfMemoryError, OutcomeUnknownError)


@dataclass
class WorkerStats:
    """What one run_worker call did."""

    claimed: int = 0
    completed: int = 0
    failed: int = 0
    released: int = 0
    lost: int = 0          # results refused because the lease had been lost (another worker has the task)
    cancelled: int = 0     # tasks cancelled (cancel_task) while the handler ran: the handler was stopped


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
    """
    handler = process(handler, team_id, agent_id)  # the handler in a span when tracing is on
    stop = stop if stop is not None else asyncio.Event()
    caps = None if capabilities is None else list(capabilities)
    stats = WorkerStats()
    signals = stop_on_signals(stop) if install_signals else contextlib.nullcontext()

    def more() -> bool:  # claim the next task along with this completion?
        return not stop.is_set() and (max_tasks is None or stats.claimed < max_tasks)

    scheduler = _start_scheduler(orch, team_id) if schedules else None
    async with _stopping(scheduler):
        with signals:
            nxt: ClaimedTask | None = None  # claimed by the previous completion (complete_and_claim)
            backoff = MIN_BACKOFF
            task: ClaimedTask | None
            while True:
                if nxt is not None:
                    task, nxt = nxt, None
                elif stop.is_set() or (max_tasks is not None and stats.claimed >= max_tasks):
                    break
                else:
                    try:
                        task = await orch.claim_task(team_id, agent_id, caps, lease, wait=claim_wait)
                    except BACK_OFF_ON as exc:
                        # a claim that may have applied leaves a task leased to nobody: its lease expiry frees it
                        log.warning("claim failed (%s); trying again in %.1f s", exc, backoff)
                        await _sleep_unless(stop, backoff)
                        backoff = min(backoff * 2, MAX_BACKOFF)
                        continue
                    backoff = MIN_BACKOFF
                    if task is None:
                        continue
                    stats.claimed += 1
                if stop.is_set():  # the stop came while the claim was on its way: give the task back
                    await _release(orch, team_id, task, stats)
                    break

                nxt = await _work_on(orch, team_id, agent_id, handler, task, stop, grace, lease, retry_failures, stats,
                                     caps, more)
    with contextlib.suppress(AgentStateError):
        await orch.update_agent_status(team_id, agent_id, "offline")
    log.info("worker %s stopped: %s", agent_id, stats)
    return stats


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


async def _work_on(
    orch: OrchestrationStateManager, team_id: str, agent_id: str, handler: Handler, task: ClaimedTask,
    stop: asyncio.Event, grace: float, lease: float | None, retry_failures: bool, stats: WorkerStats,
    caps: list[str] | None, more: Callable[[], bool],
) -> ClaimedTask | None:
    """Run the handler on ``task`` under keep_alive; returns the next task when the completion claimed one.

    A cancel of the task (keep_alive's heartbeat raises TaskCancelledError) cancels the handler
    and is counted in ``stats.cancelled``; the task already ended ``cancelled`` on the server."""
    job: asyncio.Future[Any] | None = None
    try:
        async with orch.keep_alive(team_id, agent_id, lease):
            job = asyncio.ensure_future(handler(task))
            stopper = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({job, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if not job.done():
                    log.info("stopping: task %s gets up to %.1f s to finish", task.id, grace)
                    await asyncio.wait({job}, timeout=grace)
            finally:
                stopper.cancel()
            if not job.done() or job.cancelled():
                job.cancel()
                await asyncio.wait({job}, timeout=1.0)
                await _release(orch, team_id, task, stats)
                return None
    except TaskCancelledError as exc:
        if job is not None and not job.done():
            job.cancel()
            await asyncio.wait({job}, timeout=1.0)
        stats.cancelled += 1
        log.warning("task %s cancelled while its handler ran; handler stopped (%s)", task.id, exc)
        return None
    return await _finish(orch, team_id, agent_id, task, job, retry_failures, stats, caps, lease, more)


async def _finish(
    orch: OrchestrationStateManager, team_id: str, agent_id: str, task: ClaimedTask, job: asyncio.Future[Any],
    retry_failures: bool, stats: WorkerStats, caps: list[str] | None, lease: float | None, more: Callable[[], bool],
) -> ClaimedTask | None:
    """Complete or fail ``task``. A completion while the worker wants more work also claims the
    next task in the same script (one round trip per task, as BullMQ's worker does); returns it."""
    error = job.exception()
    nxt: ClaimedTask | None = None
    try:
        if error is None:
            if more():
                nxt = await orch.complete_and_claim(team_id, task.id, job.result(), agent_id=agent_id,
                                                    token=task.token, capabilities=caps, lease=lease)
                if nxt is not None:
                    stats.claimed += 1
            else:
                await orch.complete_task(team_id, task.id, job.result(), token=task.token)
            stats.completed += 1
        else:
            log.info("task %s failed: %r", task.id, error)
            await orch.fail_task(team_id, task.id, error, retry=retry_failures, token=task.token)
            stats.failed += 1
    except TaskCancelledError as exc:  # cancelled between its last heartbeat and the outcome
        stats.cancelled += 1
        log.warning("task %s cancelled; its result dropped (%s)", task.id, exc)
    except LeaseError as exc:
        stats.lost += 1
        log.warning("task %s: lease lost, result dropped (%s)", task.id, exc)
    except AgentStateError as exc:  # Redis gone past the retries: the lease runs out, the task comes back
        stats.lost += 1
        log.error("task %s: could not record the outcome (%s); its lease will expire", task.id, exc)
    return nxt


async def _release(orch: OrchestrationStateManager, team_id: str, task: ClaimedTask, stats: WorkerStats) -> None:
    try:
        await orch.release_task(team_id, task.id, token=task.token)
        stats.released += 1
        log.info("task %s released back to pending", task.id)
    except AgentStateError as exc:  # lost already, or Redis gone: the lease expiry hands it back
        stats.lost += 1
        log.warning("task %s: release refused (%s); its lease will expire", task.id, exc)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)

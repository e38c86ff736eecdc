"""The blocking ``run_worker``: the async worker on the private loop, with a plain or async handler.

    >>> from agentstate_redis.sync import OrchestrationStateManager, run_worker
    >>> def handle(task): return {"summary": summarize(task.data)}      # plain: runs on a pool thread
    >>> stats = run_worker(orch, "research_team", "pod-7", handle, capabilities=["research"])

Same signature, defaults and docstring as ``agentstate_redis.worker.run_worker``. A plain
handler runs off the loop (it may use the blocking API); an ``async def`` handler runs on
the loop. ``stop`` may be a ``threading.Event``. Signal handlers can only be installed by
the main thread, and the loop runs on another one, so with ``install_signals=True`` on the
main thread SIGTERM/SIGINT are caught here (``signal.signal``) and set ``stop``; the old
handlers come back when the worker returns. A plain handler cannot be interrupted: past
``grace`` its task is released while the handler thread finishes on its own.
"""

from __future__ import annotations

import contextlib
import inspect
import signal
import threading
from collections.abc import Iterator
from typing import Any

from ..worker import runner as _async
from ..worker import scheduler as _async_scheduler
from ..worker.runner import WorkerStats
from ..worker.scheduler import SchedulerStats
from ..worker.signals import STOP_SIGNALS
from .twin import _copy_face, blocking_function

_blocking_run_worker = blocking_function(_async.run_worker, module=__name__)
_SIGNATURE = inspect.signature(_async.run_worker)


_blocking_run_scheduler = blocking_function(_async_scheduler.run_scheduler, module=__name__)


def run_worker(*args: Any, **kwargs: Any) -> WorkerStats:
    stats: WorkerStats = _with_signals(_blocking_run_worker, _SIGNATURE, args, kwargs)
    return stats


def run_scheduler(*args: Any, **kwargs: Any) -> SchedulerStats:
    signature = inspect.signature(_async_scheduler.run_scheduler)
    stats: SchedulerStats = _with_signals(_blocking_run_scheduler, signature, args, kwargs)
    return stats


def _with_signals(blocking: Any, signature: inspect.Signature, args: Any, kwargs: Any) -> Any:
    """Call ``blocking`` with SIGTERM/SIGINT setting its ``stop`` when it should install signals."""
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    with contextlib.ExitStack() as scope:
        if bound.arguments["install_signals"] and threading.current_thread() is threading.main_thread():
            if bound.arguments["stop"] is None:
                bound.arguments["stop"] = threading.Event()
            scope.enter_context(_signals_set(bound.arguments["stop"]))
            bound.arguments["install_signals"] = False
        return blocking(*bound.args, **bound.kwargs)


_copy_face(run_worker, _async.run_worker)
run_worker.__module__ = "agentstate_redis.sync"
_copy_face(run_scheduler, _async_scheduler.run_scheduler)
run_scheduler.__module__ = "agentstate_redis.sync"


@contextlib.contextmanager
def _signals_set(stop: Any) -> Iterator[None]:
    """SIGTERM/SIGINT set ``stop`` (a threading.Event) while the worker runs."""
    previous = {}

    def on_signal(signum: int, _frame: Any) -> None:
        _async.log.info("%s: stop claiming, finish or release the current task, then exit", signal.Signals(signum).name)
        stop.set()

    for sig in STOP_SIGNALS:
        previous[sig] = signal.signal(sig, on_signal)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


__all__ = ["SchedulerStats", "WorkerStats", "run_scheduler", "run_worker"]

"""The blocking API: a twin of every async class, same names, signatures, defaults, docstrings and errors.

    >>> from agentstate_redis.sync import StateManager, StateConfig
    >>> state = StateManager(config=StateConfig(backend="redis", redis_url="redis://localhost:6379"))
    >>> state.save("agent:researcher", {"status": "running"})       # no await
    1
    >>> state.subscribe("agent:*", on_change)     # returns once live; on_change runs on a background thread

For scripts, Flask/Django handlers, Celery tasks and synchronous agent loops. One sync object
may be shared by many threads. Every coroutine runs on one private event loop (a daemon thread
of this process), so calls from many threads are pipelined together and sync objects can share a
backend (``backend=`` / ``state_manager=``). Models, enums, errors and configuration are the very
objects of ``agentstate_redis`` (``agentstate_redis.sync.AgentCheckpoint is
agentstate_redis.AgentCheckpoint``). The twins are derived from the async classes (see
``twin.py``); ``tests/sync/test_sync_parity.py`` checks every public method of both.

In code with a running event loop use the async API: a blocking call there raises
:class:`EventLoopRunningError` (the Kaizen mixin ``AgentStateTracking`` is the one exception: its
methods, plain in Kaizen, also work inside ``async def`` hooks).
"""

from __future__ import annotations

import inspect
from typing import Any

import agentstate_redis as _async

from .errors import EventLoopRunningError
from .twin import has_async_methods, twin_class
from .worker import SchedulerStats, WorkerStats, run_scheduler, run_worker


def _export(name: str) -> Any:
    value = getattr(_async, name)
    return twin_class(value) if inspect.isclass(value) and has_async_methods(value) else value


#: Every name of ``agentstate_redis``: a blocking twin for classes with coroutine methods, else the same
#: object; the mixin's blocking face is derived in tracking.py (an agent inherits it, it wraps nothing).
for _name in _async.__all__:
    if _name != "AgentStateTracking":
        globals()[_name] = _export(_name)
del _name

from .tracking import AgentStateTracking as AgentStateTracking  # noqa: E402 - replaces the loop's skipped name

__all__ = [*_async.__all__, "EventLoopRunningError", "SchedulerStats", "WorkerStats", "run_scheduler", "run_worker"]

"""AgentStateTracking for synchronous agents: seed 003's methods, plain (blocking), as the seed calls them.

    >>> from agentstate_redis.sync import AgentStateStore, AgentStateTracking
    >>> class MyAgent(AgentStateTracking):
    ...     def __init__(self):
    ...         self.init_state_tracking(AgentStateStore(persistence="redis"), "my_agent")
    >>> agent = MyAgent()
    >>> agent.record_approval("Bash", True, "once", {"command": "ls -la"})
    >>> agent._get_tool_usage_counts()
    {}

Derived from ``agentstate_redis.agents.tracking.AgentStateTracking`` (the async twin): every
coroutine method there is a blocking one here with the same name, signature and docstring, run
on the private event loop. ``init_state_tracking`` takes an ``agentstate_redis.sync``
AgentStateStore (or an async one not used on any other loop).

Unlike the other sync objects, these methods also work when called inside a running event loop
(the seed's own ``async def tool_execution_hook`` calls ``agent.record_tool_usage(...)``; Kaizen's
methods are plain ones): the call then blocks that loop for its Redis round trip, bounded by the
backend's timeouts, as any blocking I/O would. Prefer the async twin in async agents. Called
from an async callback running on the private loop itself it raises EventLoopRunningError.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..agents import tracking as _async
from .runner import default_runner
from .twin import _copy_face


def _blocking(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    what = f"AgentStateTracking.{name}"

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        runner = getattr(self.tracking_store, "_twin_runner", None) or default_runner()
        return runner.call(lambda: func(self, *args, **kwargs), what=what, allow_running_loop=True)

    _copy_face(method, func)
    method.__qualname__ = what
    return method


def _check_store(self: Any, store: Any) -> None:
    _async._async_store(store)


def _derive() -> type:
    namespace: dict[str, Any] = {
        "__doc__": _async.AgentStateTracking.__doc__,
        "__module__": __name__,
        "__qualname__": "AgentStateTracking",
        "_check_store": _check_store,
    }
    for name, member in vars(_async.AgentStateTracking).items():
        if inspect.iscoroutinefunction(member):
            namespace[name] = _blocking(name, member)
    return type("AgentStateTracking", (_async.TrackingSetup,), namespace)


AgentStateTracking = _derive()

"""The one error the blocking API adds: a blocking call made where it would stall or deadlock a loop.

    >>> async def handler():
    ...     sync_state.get("agent:a")          # inside a running event loop
    Traceback (most recent call last):
    EventLoopRunningError: StateManager.get() is the blocking API ... use `await ...` there

Self-contained on purpose (``agentstate_redis.errors`` is the place it may move to).
"""

from __future__ import annotations

from ..errors import AgentStateError


class EventLoopRunningError(AgentStateError, RuntimeError):
    """A blocking (``agentstate_redis.sync``) call was made in a thread whose event loop is running."""

    code = "EVENT_LOOP"

"""``execute_tool`` spans (the GenAI semantic conventions) for tool executions; one decorator per method.

    class ToolStateManager(...):
        @tool_started
        async def start_execution(self, execution): ...
        @tool_finished(failed=False)
        async def complete_execution(self, execution_id, ...): ...
        @tool_finished(failed=True)
        async def fail_execution(self, execution_id, error, ...): ...

A span ``execute_tool <tool name>`` (kind INTERNAL; ``gen_ai.operation.name`` ``execute_tool``,
``gen_ai.tool.name``, ``gen_ai.tool.call.id`` = the execution id, ``gen_ai.agent.id`` when the
execution names an agent) covers start to completion. It is recorded when the execution finishes:
from the moment ``start_execution`` was called, under the span that was current then, when this
process started it; otherwise (started by another process) from the start time the server recorded,
under the span current at the finish. A failed execution's span has status ERROR and ``error.type``
(the exception's class when ``fail_execution`` got an exception, else ``_OTHER``).
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

from . import otel

#: Executions started by this process and not finished yet; the oldest are forgotten past this.
MAX_RUNNING = 10_000
_running: collections.OrderedDict[str, tuple[int, Any]] = collections.OrderedDict()


def tool_started(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Note when and under which span ``start_execution`` was called, for the span made at the finish."""
    execution_of = otel.argument(fn, "execution")

    async def traced(self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        start, ctx = otel.now_ns(), otel.otel_context.get_current()
        result = await fn(self, *args, **kwargs)
        execution_id = getattr(execution_of(args, kwargs), "execution_id", None)
        if execution_id is not None and execution_id not in _running:
            _running[execution_id] = (start, ctx)
            while len(_running) > MAX_RUNNING:
                _running.popitem(last=False)
        return result

    return otel.coroutine_wrapper(fn, traced)


def tool_finished(*, failed: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Record the execute_tool span once ``complete_execution``/``fail_execution`` succeeded."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        id_of = otel.argument(fn, "execution_id")
        error_of = otel.argument(fn, "error") if failed else None

        async def traced(self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            execution_id = id_of(args, kwargs)
            try:
                execution = await fn(self, *args, **kwargs)
            except Exception:
                _running.pop(execution_id, None)  # unknown or finished already: no tool span from this call
                raise
            started = _running.pop(execution.execution_id, None)
            if started is not None:
                start, parent = started
            else:
                t0 = execution.started_at
                now = otel.now_ns()  # the server's start time, ms resolution; never after now on our clock
                start, parent = (min(int(t0.timestamp() * 1e9), now) if t0 is not None else now), None
            attrs: dict[str, Any] = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": execution.tool_name,
                "gen_ai.tool.call.id": execution.execution_id,
            }
            if execution.agent_id:
                attrs["gen_ai.agent.id"] = execution.agent_id
            span = otel.tracer().start_span(
                f"execute_tool {execution.tool_name}",
                context=parent,
                kind=otel.SpanKind.INTERNAL,
                attributes=attrs,
                start_time=start,
            )
            if failed:
                error = error_of(args, kwargs) if error_of is not None else None
                kind = type(error).__qualname__ if isinstance(error, BaseException) else "_OTHER"
                span.set_attribute("error.type", kind)
                span.set_status(otel.Status(otel.StatusCode.ERROR, execution.error or kind))
            span.end()
            return execution

        return otel.coroutine_wrapper(fn, traced)

    return decorate

"""Spans of the team task queue, with the messaging semantic conventions; one decorator per traced method.

    class QueueOps(TeamOps):
        @send("enqueue", "task")
        async def enqueue_task(self, team_id, task): ...
        @receive("claim")
        async def claim_task(self, team_id, agent_id, ...): ...
        @settle("complete")
        async def complete_task(self, team_id, task_id, ...): ...

    handler = process(handler, team_id, agent_id)    # run_worker: the handler runs in a "process" span

Every span has ``messaging.system`` (``agentstate_redis``), ``messaging.destination.name``
(the team id), ``messaging.operation.type`` (send, receive, process, settle) and
``messaging.operation.name`` (enqueue, claim, process, complete, fail, release);
``messaging.message.id`` (the task id) when it is about one task, ``messaging.client.id``
(the agent id) when one is known, ``messaging.batch.message_count`` for ``enqueue_tasks``.
The send span's context is written into each task as ``traceparent`` (and ``tracestate``,
``baggage``) among its ``extra`` keys, unless the task carries a ``traceparent`` already.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from . import otel

#: Creation contexts of the tasks this process claimed, by (team, task id), until settled: a
#: ``complete_and_claim`` reply does not carry the completed task. The oldest are dropped past this.
MAX_REMEMBERED = 10_000
_claimed: collections.OrderedDict[tuple[str, str], Any] = collections.OrderedDict()


def _attributes(
    operation_type: str, operation: str, team_id: Any, agent_id: Any = None, task_id: Any = None
) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "messaging.system": otel.SYSTEM,
        "messaging.operation.type": operation_type,
        "messaging.operation.name": operation,
        "messaging.destination.name": str(team_id),
    }
    if task_id is not None:
        attrs["messaging.message.id"] = str(task_id)
    if agent_id:
        attrs["messaging.client.id"] = str(agent_id)
    return attrs


def _with_context(task: Any, carrier: dict[str, str]) -> tuple[Any, Any]:
    """``task`` carrying ``carrier`` (a copy; a task that has a traceparent is kept as is) and the
    creation context it carried already (None when it gets ours)."""
    if isinstance(task, Mapping):
        if "traceparent" in task:
            return task, otel.creation_context(task)
        return {**task, **carrier}, None
    extra = getattr(task, "extra", None)
    if isinstance(extra, dict) and hasattr(task, "model_copy"):  # a Task
        if "traceparent" in extra:
            return task, otel.creation_context(extra)
        return task.model_copy(update={"extra": {**extra, **carrier}}), None
    return task, None  # not a task: the method refuses it with its own error


def _add_link(span: Any, ctx: Any) -> None:
    """The send span links to a creation context the task brought along (the spec's custom one)."""
    if ctx is not None:
        span.add_link(otel.trace.get_current_span(ctx).get_span_context())


def send(operation: str, argument: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A PRODUCER span around an enqueue; its context goes into the task(s) in ``argument``."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        team_of, tasks_of = otel.argument(fn, "team_id"), otel.argument(fn, argument)
        put = otel.replacer(fn, argument)
        batch = argument == "tasks"

        async def traced(self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            team_id, given = team_of(args, kwargs), tasks_of(args, kwargs)
            items = (
                list(given)
                if batch and isinstance(given, Iterable) and not isinstance(given, (str, bytes, bytearray, Mapping))
                else None
            )
            attrs = _attributes("send", operation, team_id)
            if batch:
                attrs["messaging.batch.message_count"] = len(items) if items is not None else 0
            else:
                task_id = given.get("id") if isinstance(given, Mapping) else getattr(given, "id", None)
                if task_id is not None:
                    attrs["messaging.message.id"] = str(task_id)
            with otel.tracer().start_as_current_span(
                f"{operation} {team_id}",
                kind=otel.SpanKind.PRODUCER,
                attributes=attrs,
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                carrier = otel.inject()
                try:
                    if batch and items is not None:
                        pairs = [_with_context(t, carrier) for t in items]
                        given = [t for t, _ in pairs]
                        for _, ctx in pairs:
                            _add_link(span, ctx)
                    elif not batch:
                        given, ctx = _with_context(given, carrier)
                        _add_link(span, ctx)
                    args, kwargs = put(args, kwargs, given)
                    result = await fn(self, *args, **kwargs)
                    if not batch and "messaging.message.id" not in attrs:  # the id the library made
                        span.set_attribute("messaging.message.id", str(result))
                    return result
                except BaseException as exc:
                    otel.fail(span, exc)
                    raise

        return otel.coroutine_wrapper(fn, traced)

    return decorate


def _remember(team_id: Any, task: Any, agent_id: Any) -> Any:
    """The task's creation context (None if it has none), remembered with its holder until it is settled."""
    ctx = otel.creation_context(task.extra)
    _claimed[(str(team_id), task.id)] = (ctx, agent_id)
    while len(_claimed) > MAX_REMEMBERED:
        _claimed.popitem(last=False)
    return ctx


def _creation(team_id: Any, task: Any) -> Any:
    """The creation context of a claimed task: remembered at claim, else read from its record."""
    held = _claimed.get((str(team_id), task.id))
    return held[0] if held is not None else otel.creation_context(task.extra)


def _received(
    operation: str, team_id: Any, agent_id: Any, task: Any, start: int, error: BaseException | None = None
) -> None:
    creation = _remember(team_id, task, agent_id) if task is not None else None
    attrs = _attributes("receive", operation, team_id, agent_id, None if task is None else task.id)
    _task_span(operation, team_id, attrs, start, creation, error)


def _task_span(
    operation: str, team_id: Any, attrs: dict[str, Any], start: int, creation: Any, error: BaseException | None
) -> None:
    """The CLIENT span ``"<operation> <team>"`` of a call on one task, linked to the context the task was
    created in (``creation``), its parent unless a span is current (otel.parent_for)."""
    otel.record(
        f"{operation} {team_id}",
        otel.SpanKind.CLIENT,
        attrs,
        start=start,
        parent=otel.parent_for(creation),
        links=otel.link_to(creation),
        error=error,
    )


def receive(operation: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A CLIENT span for a claim that returned a task (or failed); a claim that found nothing makes none,
    so idle workers polling make no spans. It is recorded when the call returns, from its start."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        team_of, agent_of = otel.argument(fn, "team_id"), otel.argument(fn, "agent_id")

        async def traced(self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            start = otel.now_ns()
            try:
                task = await fn(self, *args, **kwargs)
            except Exception as exc:
                _received(operation, team_of(args, kwargs), agent_of(args, kwargs), None, start, exc)
                raise
            if task is not None:
                _received(operation, team_of(args, kwargs), agent_of(args, kwargs) or task.agent_id, task, start)
            return task

        return otel.coroutine_wrapper(fn, traced)

    return decorate


def settle(operation: str, *, claims: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A CLIENT span for a completion, failure or release of one task, recorded when the call returns.
    ``claims="claim"``: the call also claims the next task (``complete_and_claim``), which gets a
    receive span as ``receive`` makes one."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        team_of, task_of = otel.argument(fn, "team_id"), otel.argument(fn, "task_id")
        agent_of = otel.argument(fn, "agent_id")

        async def traced(self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            start = otel.now_ns()
            team_id, task_id, agent_id = team_of(args, kwargs), task_of(args, kwargs), agent_of(args, kwargs)
            error: Exception | None = None
            result: Any = None
            try:
                result = await fn(self, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - recorded on the span, then re-raised below
                error = exc
            creation, holder = _claimed.pop((str(team_id), str(task_id)), (None, None))
            agent_id = agent_id or holder
            if claims is None and result is not None:  # the reply is the settled task
                creation = creation or otel.creation_context(result.extra)
                agent_id = agent_id or result.completed_by
            attrs = _attributes("settle", operation, team_id, agent_id, task_id)
            _task_span(operation, team_id, attrs, start, creation, error)
            if error is not None:
                raise error
            if claims is not None and result is not None:
                _received(claims, team_id, agent_id or result.agent_id, result, start)
            return result

        return otel.coroutine_wrapper(fn, traced)

    return decorate


def process(handler: Callable[[Any], Awaitable[Any]], team_id: str, agent_id: str) -> Callable[[Any], Awaitable[Any]]:
    """run_worker's handler, run in a CONSUMER span (current while it runs, so the handler's own spans
    are its children); ``handler`` itself when OpenTelemetry is not installed.

        handler = process(handler, "research_team", "pod-7")
    """
    if not otel.AVAILABLE:
        return handler

    @functools.wraps(handler)
    async def traced(task: Any) -> Any:
        if not otel.enabled():
            return await handler(task)
        creation = _creation(team_id, task)
        attrs = _attributes("process", "process", team_id, agent_id, task.id)
        with otel.tracer().start_as_current_span(
            f"process {team_id}",
            context=otel.parent_for(creation),
            kind=otel.SpanKind.CONSUMER,
            attributes=attrs,
            links=otel.link_to(creation),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                return await handler(task)
            except BaseException as exc:  # a cancelled handler too (stop past grace): its task is released
                otel.fail(span, exc)
                raise

    return traced

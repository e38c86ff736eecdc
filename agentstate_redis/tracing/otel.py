"""The one place that imports OpenTelemetry: whether it is installed, whether a provider is set, the tracer.

    >>> from agentstate_redis.tracing import otel
    >>> otel.AVAILABLE          # opentelemetry-api importable (checked once, at import)
    True
    >>> otel.enabled()          # a real tracer provider is set (not the API's default proxy or no-op)
    False

The decorators of this package return the very function they were given when
``AVAILABLE`` is False, and call it straight through while ``enabled()`` is False.
"""

from __future__ import annotations

import functools
import inspect
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
    from opentelemetry.trace import Link, SpanKind
    from opentelemetry.trace import Status as Status
    from opentelemetry.trace import StatusCode as StatusCode
except ImportError:  # the [otel] extra is not installed: every decorator is the identity
    AVAILABLE = False
else:
    AVAILABLE = True

#: ``messaging.system`` of every queue span (a custom value, as the semantic conventions allow).
SYSTEM = "agentstate_redis"
#: The extra keys of a task record that carry the creation context (what the W3C propagator writes).
CONTEXT_KEYS = ("traceparent", "tracestate", "baggage")

_tracer: tuple[Any, Any] = (None, None)  # (provider, its tracer)
#: The provider ``trace.set_tracer_provider`` stored, read directly while none is set: the public
#: ``get_tracer_provider()`` looks up an environment variable on every call (about 1 us here), which
#: is most of what a decorated method costs then. Without that attribute, or with the variable set
#: (the provider named there is loaded on first use), the public call is used.
_DIRECT = AVAILABLE and hasattr(trace, "_TRACER_PROVIDER") and "OTEL_PYTHON_TRACER_PROVIDER" not in os.environ
_IDLE = (trace.ProxyTracerProvider, trace.NoOpTracerProvider) if AVAILABLE else ()


def enabled() -> bool:
    """True when spans would be recorded: OpenTelemetry is installed and a tracer provider was set."""
    if not AVAILABLE:
        return False
    if _DIRECT:
        provider = trace._TRACER_PROVIDER
        return provider is not None and not isinstance(provider, _IDLE)
    return not isinstance(trace.get_tracer_provider(), _IDLE)


def tracer() -> Any:
    """This library's tracer from the current global provider (cached per provider)."""
    global _tracer
    from .. import __version__

    provider = trace.get_tracer_provider()
    if _tracer[0] is not provider:
        _tracer = (provider, provider.get_tracer("agentstate_redis", __version__))
    return _tracer[1]


def now_ns() -> int:
    return time.time_ns()


def argument(fn: Callable[..., Any], name: str) -> Callable[[tuple[Any, ...], Mapping[str, Any]], Any]:
    """A reader of argument ``name`` of a call of ``fn`` (``args`` without ``self``), positional or keyword."""
    params = inspect.signature(fn).parameters
    index = list(params).index(name) - 1  # the decorated functions are methods: args[0] is the first after self
    default = None if params[name].default is inspect.Parameter.empty else params[name].default

    def read(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        if 0 <= index < len(args):
            return args[index]
        return kwargs.get(name, default)

    return read


def replacer(fn: Callable[..., Any], name: str) -> Callable[..., tuple[tuple[Any, ...], dict[str, Any]]]:
    """A writer of argument ``name`` into a call's ``(args, kwargs)`` (where the caller put it)."""
    index = list(inspect.signature(fn).parameters).index(name) - 1

    def put(args: tuple[Any, ...], kwargs: dict[str, Any], value: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if 0 <= index < len(args):
            return (*args[:index], value, *args[index + 1 :]), kwargs
        return args, {**kwargs, name: value}

    return put


def inject() -> dict[str, str]:
    """The current context as carrier fields (``traceparent``, maybe ``tracestate``, ``baggage``)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def creation_context(extra: Any) -> Any:
    """The producer's context carried by a task's ``extra`` (None when it carries none that is valid)."""
    if not isinstance(extra, Mapping) or "traceparent" not in extra:
        return None
    carrier = {k: extra[k] for k in CONTEXT_KEYS if isinstance(extra.get(k), str)}
    ctx = propagate.extract(carrier)
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def link_to(ctx: Any) -> list[Any]:
    return [Link(trace.get_current_span(ctx).get_span_context())] if ctx is not None else []


def parent_for(creation: Any) -> Any:
    """The parent of a consumer-side span about one task: the ambient span when there is one, else the
    producer's context (so a worker's spans land in the producer's trace; they link to it either way)."""
    if creation is None or trace.get_current_span().get_span_context().is_valid:
        return None  # start_span's default: the current context
    return creation


def fail(span: Any, exc: BaseException) -> None:
    """Mark ``span`` failed by ``exc``: status ERROR, ``error.type`` the exception's class, the exception event."""
    span.set_attribute("error.type", type(exc).__qualname__)
    if isinstance(exc, Exception):
        span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def record(
    name: str,
    kind: Any,
    attributes: dict[str, Any],
    *,
    start: int,
    parent: Any = None,
    links: list[Any] | None = None,
    error: BaseException | None = None,
) -> None:
    """One finished span from ``start`` (ns) to now, created after the fact (see the package docstring)."""
    span = tracer().start_span(
        name,
        context=parent,
        kind=kind,
        attributes=attributes,
        links=links or None,
        start_time=start,
        record_exception=False,
        set_status_on_exception=False,
    )
    if error is not None:
        fail(span, error)
    span.end()


def coroutine_wrapper(fn: Callable[..., Any], traced: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` itself without OpenTelemetry; else an ``async def`` with fn's name, docstring and signature
    (functools.wraps: the blocking twins are derived from it) calling ``traced`` only while enabled."""
    if not AVAILABLE:
        return fn

    @functools.wraps(fn)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not enabled():
            return await fn(self, *args, **kwargs)
        return await traced(self, args, kwargs)

    return wrapper


__all__ = ["AVAILABLE", "CONTEXT_KEYS", "SYSTEM", "enabled", "tracer"]
if AVAILABLE:
    __all__ += ["SpanKind", "otel_context", "trace"]

"""OpenTelemetry traces of the task queue and of tool executions (extra ``[otel]``: opentelemetry-api).

    pip install 'agentstate-redis[otel]' opentelemetry-sdk opentelemetry-exporter-otlp
    >>> from opentelemetry import trace
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.export import BatchSpanProcessor
    >>> from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    >>> trace.set_tracer_provider(provider)        # from now on the library's calls make spans

Nothing to switch on in the library: its queue and tool methods are decorated here, and make spans
once the application sets a tracer provider. Without opentelemetry-api installed each decorator
returns the very function it was given (``agentstate_redis.tracing.AVAILABLE`` is False); with it
installed and no provider set, a decorated method checks that and calls straight through.

Spans (see :mod:`.queue` and :mod:`.tools` for their attributes): ``enqueue <team>`` (send,
PRODUCER; ``enqueue_task``/``enqueue_tasks``), ``claim <team>`` (receive, CLIENT; a claim that
returned a task), ``process <team>`` (process, CONSUMER; run_worker's handler, current while it
runs), ``complete|fail|release <team>`` (settle, CLIENT), ``execute_tool <tool>`` (INTERNAL).
The enqueue span's context travels in the task record (``traceparent`` among the task's
``extra`` keys); a worker's claim, process and settle spans link to it and, when no span is
current in the worker, are its children, so one trace shows producer and worker.
"""

from .otel import AVAILABLE, enabled
from .queue import process, receive, send, settle
from .tools import tool_finished, tool_started

__all__ = ["AVAILABLE", "enabled", "process", "receive", "send", "settle", "tool_finished", "tool_started"]

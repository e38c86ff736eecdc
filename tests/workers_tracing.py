"""Process targets of tests/worker/test_tracing.py: a producer and a worker, each exporting its spans to a JSON file.

Each process sets its own tracer provider with the SDK's in-memory exporter and writes the
finished spans (ids as hex, kind, parent, links, attributes, status) to ``out`` before it exits.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agentstate_redis import OrchestrationStateManager, RedisBackend, ToolExecution, ToolStateManager
from agentstate_redis.worker import run_worker


def _exporter() -> Any:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


def span_dict(span: Any) -> dict[str, Any]:
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{span.context.trace_id:032x}",
        "span_id": f"{span.context.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent is not None else None,
        "links": [
            {"trace_id": f"{link.context.trace_id:032x}", "span_id": f"{link.context.span_id:016x}"}
            for link in span.links
        ],
        "attributes": dict(span.attributes),
        "status": span.status.status_code.name,
    }


def _dump(exporter: Any, out: str) -> int:
    spans = [span_dict(s) for s in exporter.get_finished_spans()]
    with open(out, "w") as f:
        json.dump(spans, f)
    return len(spans)


def producer(redis_url: str, prefix: str, team: str, out: str, task_ids: list[str]) -> int:
    exporter = _exporter()

    async def main() -> None:
        from opentelemetry import trace

        backend = RedisBackend(redis_url, key_prefix=prefix)
        orch = OrchestrationStateManager(backend=backend)
        try:
            await orch.create_team(team, exist_ok=True)
            with trace.get_tracer("test-producer").start_as_current_span("http request"):
                for task_id in task_ids:
                    await orch.enqueue_task(team, {"id": task_id, "type": "work", "data": {"n": task_id}})
        finally:
            await backend.close()

    asyncio.run(main())
    return _dump(exporter, out)


def worker(redis_url: str, prefix: str, team: str, out: str, tasks: int) -> dict[str, Any]:
    """run_worker on ``tasks`` tasks; the handler makes a span of its own and a tool execution,
    and fails the task whose id starts with ``bad``."""
    exporter = _exporter()

    async def main() -> dict[str, Any]:
        from opentelemetry import trace

        backend = RedisBackend(redis_url, key_prefix=prefix)
        orch = OrchestrationStateManager(backend=backend)
        tools = ToolStateManager(backend=backend)
        seen: dict[str, Any] = {}

        async def handle(task: Any) -> Any:
            seen[task.id] = task.extra.get("traceparent")
            with trace.get_tracer("test-worker").start_as_current_span("llm call"):
                await asyncio.sleep(0.001)
            await tools.start_execution(
                ToolExecution(execution_id=f"x-{task.id}", tool_name="search_web", agent_id="pod-1")
            )
            await tools.complete_execution(f"x-{task.id}", {"hits": 1})
            if task.id.startswith("bad"):
                raise RuntimeError("tool down")
            return {"ok": task.id}

        try:
            stats = await run_worker(
                orch,
                team,
                "pod-1",
                handle,
                max_tasks=tasks,
                claim_wait=0.5,
                install_signals=False,
                retry_failures=False,
            )
            return {"completed": stats.completed, "failed": stats.failed, "traceparents": seen}
        finally:
            await backend.close()

    result = asyncio.run(main())
    result["spans"] = _dump(exporter, out)
    return result

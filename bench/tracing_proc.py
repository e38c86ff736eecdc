"""One process of the tracing bench: the queue path timed with OpenTelemetry absent, idle or recording.

    python -m bench.tracing_proc '{"mode": "enabled", "url": "redis://...", "prefix": "b1:", "duration": 2}'

Modes: ``absent`` (``import opentelemetry`` fails, as when it is not installed: the library's methods
are the plain functions), ``disabled`` (installed, no tracer provider set), ``enabled`` (the SDK's
TracerProvider with a BatchSpanProcessor and an exporter that drops the spans, so the figure is the
instrumentation's cost, not an exporter's). One cycle is what a producer and a worker do for a task:
``enqueue_task``, ``claim_task``, the handler through run_worker's hook, ``complete_task`` (four spans
when enabled). Prints one JSON line: the cycle latencies in microseconds (p50, p99, max), the count,
and ``per_call_ns``: one call of an enqueue-shaped method without I/O, decorated as enqueue_task is.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any


def setup(mode: str) -> Any:
    if mode == "absent":
        sys.modules["opentelemetry"] = None  # type: ignore[assignment]
        return None
    if mode == "enabled":
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

        class Drop(SpanExporter):
            def export(self, spans: Any) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Drop()))
        trace.set_tracer_provider(provider)
        return provider
    return None


async def run(args: dict[str, Any]) -> dict[str, Any]:
    from agentstate_redis import OrchestrationStateManager, RedisBackend, tracing

    expected = {"absent": (False, False), "disabled": (True, False), "enabled": (True, True)}[args["mode"]]
    assert (tracing.AVAILABLE, tracing.enabled()) == expected, args["mode"]
    backend = RedisBackend(args["url"], key_prefix=args["prefix"])
    orch = OrchestrationStateManager(backend=backend, completed_retention=100)
    team = "traced"
    run = f"{args['mode']}-{time.time_ns()}"  # ids unique per process: earlier repeats' tasks are remembered

    async def handle(task: Any) -> Any:
        return None

    handler = tracing.process(handle, team, "w1")
    try:
        await orch.create_team(team, exist_ok=True)
        samples: list[float] = []
        n = 0
        for warm in (True, False):
            end = time.perf_counter() + (0.3 if warm else float(args["duration"]))
            while time.perf_counter() < end:
                t0 = time.perf_counter()
                task_id = await orch.enqueue_task(team, {"id": f"{run}-{n}", "data": {"n": n}})
                task = await orch.claim_task(team, "w1")
                assert task is not None and task.id == task_id
                await orch.complete_task(team, task.id, await handler(task), token=task.token)
                n += 1
                if not warm:
                    samples.append((time.perf_counter() - t0) * 1e6)
    finally:
        await backend.close()
    samples.sort()
    micro = await per_call(tracing)
    pick = lambda q: samples[min(len(samples) - 1, int(q * (len(samples) - 1) + 0.5))]  # noqa: E731
    return {
        "mode": args["mode"],
        "cycles": len(samples),
        "p50_us": pick(0.5),
        "p99_us": pick(0.99),
        "max_us": samples[-1],
        "per_call_ns": micro,
    }


async def per_call(tracing: Any, calls: int = 20000) -> float:
    """ns per call of an enqueue-shaped method that does no I/O, decorated as enqueue_task is: the
    instrumentation alone (the plain function when absent; a check and a call when disabled)."""

    async def enqueue(self: Any, team_id: str, task: Any) -> Any:
        return task

    fn = tracing.send("enqueue", "task")(enqueue)
    task = {"id": "t", "data": 1}
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter_ns()
        for _ in range(calls):
            await fn(None, "team", task)
        best = min(best, (time.perf_counter_ns() - t0) / calls)
    return best


def main() -> None:
    args = json.loads(sys.argv[1])
    provider = setup(args["mode"])
    print(json.dumps(asyncio.run(run(args))), flush=True)
    if provider is not None:
        provider.shutdown()


if __name__ == "__main__":
    main()

"""OpenTelemetry (issue 23, item 5): queue and tool spans with the semantic-convention attributes,
the trace context carried in the task record, a producer -> worker link across two processes, and
no tracing at all without OpenTelemetry (the decorated methods are the plain functions then)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentstate_redis import (
    InvalidInputError,
    LeaseError,
    OrchestrationStateManager,
    RedisBackend,
    ToolExecution,
    ToolStateManager,
    tracing,
)
from agentstate_redis.orchestration import Task
from agentstate_redis.tracing import queue as queue_tracing
from agentstate_redis.tracing import tools as tool_tracing

from ..procs import run_processes
from ..workers_tracing import producer, span_dict, worker

TEAM = "traced_team"
ORCH_OPTIONS = {"lease": 5}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """A tracer provider with the in-memory exporter for this test only (the global one stays unset)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)  # what set_tracer_provider sets, undone after
    monkeypatch.setattr(queue_tracing, "_claimed", type(queue_tracing._claimed)())
    monkeypatch.setattr(tool_tracing, "_running", type(tool_tracing._running)())
    assert tracing.enabled()
    return exporter


def finished(exporter: InMemorySpanExporter) -> list[dict[str, Any]]:
    return [span_dict(s) for s in exporter.get_finished_spans()]


def only(spans: list[dict[str, Any]], name: str, **attrs: Any) -> dict[str, Any]:
    found = [s for s in spans if s["name"] == name and all(s["attributes"].get(k) == v for k, v in attrs.items())]
    assert len(found) == 1, (name, attrs, [(s["name"], s["attributes"]) for s in spans])
    return found[0]


def messaging(op_type: str, op_name: str, **more: Any) -> dict[str, Any]:
    return {
        "messaging.system": "agentstate_redis",
        "messaging.operation.type": op_type,
        "messaging.operation.name": op_name,
        "messaging.destination.name": TEAM,
        **more,
    }


class traceparent:
    """Equal to the W3C traceparent of ``span`` (whatever its trace flags: sampled, random trace id)."""

    def __init__(self, span: dict[str, Any]) -> None:
        self.prefix = f"00-{span['trace_id']}-{span['span_id']}-"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith(self.prefix) and len(other) == len(self.prefix) + 2

    def __repr__(self) -> str:
        return f"{self.prefix}??"


# -- without a provider, and without OpenTelemetry -------------------------------------------------


async def test_no_provider_no_spans_and_no_context_in_the_record(orch: OrchestrationStateManager) -> None:
    assert tracing.AVAILABLE and not tracing.enabled()
    await orch.enqueue_task(TEAM, {"id": "t1", "note": "mine"})
    task = await orch.claim_task(TEAM, "w1")
    assert task is not None and task.extra == {"note": "mine"}


def test_not_installed_the_methods_are_the_plain_functions(redis_url: str, prefix: str) -> None:
    """A process where ``import opentelemetry`` fails: nothing wrapped, the queue works, no context written."""
    code = textwrap.dedent(f"""
        import asyncio, sys
        sys.modules["opentelemetry"] = None          # ImportError on import, as when it is not installed
        from agentstate_redis import OrchestrationStateManager, RedisBackend, ToolStateManager, tracing
        from agentstate_redis.orchestration import queue
        from agentstate_redis.worker import runner
        assert tracing.AVAILABLE is False and tracing.enabled() is False
        for cls, names in [(OrchestrationStateManager, ["enqueue_task", "enqueue_tasks", "claim_task",
                            "complete_task", "complete_and_claim", "fail_task", "release_task"]),
                           (ToolStateManager, ["start_execution", "complete_execution", "fail_execution"])]:
            for name in names:
                fn = getattr(cls, name)
                assert not hasattr(fn, "__wrapped__"), name
                assert fn.__code__.co_name == name, name          # the method's own code, no wrapper
        async def handle(task): return 1
        assert tracing.process(handle, "t", "w") is handle

        async def main():
            backend = RedisBackend({redis_url!r}, key_prefix={prefix!r})
            orch = OrchestrationStateManager(backend=backend)
            await orch.create_team("t")
            await orch.enqueue_task("t", {{"id": "a"}})
            stats = await runner.run_worker(orch, "t", "w", handle, max_tasks=1, install_signals=False)
            assert stats.completed == 1
            assert (await orch.get_task("t", "a")).extra == {{}}
            await backend.close()
        asyncio.run(main())
        print("plain")
    """)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0 and out.stdout.strip() == "plain", out.stderr


# -- the queue's spans -----------------------------------------------------------------------------


async def test_enqueue_writes_the_send_span_context_into_the_record(
    orch: OrchestrationStateManager, spans: InMemorySpanExporter
) -> None:
    caller = {"id": "d1", "type": "work", "note": "x"}
    await orch.enqueue_task(TEAM, caller)
    assert caller == {"id": "d1", "type": "work", "note": "x"}  # the caller's dict is not changed
    await orch.enqueue_task(TEAM, Task(id="m1", extra={"note": "y"}))
    assert await orch.enqueue_tasks(TEAM, ({"id": f"b{i}"} for i in range(3))) == ["b0", "b1", "b2"]
    made = await orch.enqueue_task(TEAM, {"type": "work"})  # no id: the library makes one, the span names it
    got = finished(spans)
    assert (await orch.get_task(TEAM, made)).extra == {
        "traceparent": traceparent(only(got, f"enqueue {TEAM}", **{"messaging.message.id": made}))
    }
    d1 = only(got, f"enqueue {TEAM}", **{"messaging.message.id": "d1"})
    assert d1["kind"] == "PRODUCER" and d1["attributes"] == messaging(
        "send", "enqueue", **{"messaging.message.id": "d1"}
    )
    m1 = only(got, f"enqueue {TEAM}", **{"messaging.message.id": "m1"})
    batch = only(got, f"enqueue {TEAM}", **{"messaging.batch.message_count": 3})
    assert "messaging.message.id" not in batch["attributes"]
    record = await orch.get_task(TEAM, "d1")
    assert record.extra == {"note": "x", "traceparent": traceparent(d1)}
    assert (await orch.get_task(TEAM, "m1")).extra == {"note": "y", "traceparent": traceparent(m1)}
    for i in range(3):
        assert (await orch.get_task(TEAM, f"b{i}")).extra == {"traceparent": traceparent(batch)}


async def test_a_task_that_brings_its_own_context_keeps_it_and_the_send_span_links_to_it(
    orch: OrchestrationStateManager, spans: InMemorySpanExporter
) -> None:
    theirs = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    await orch.enqueue_task(TEAM, {"id": "own", "traceparent": theirs})
    send = only(finished(spans), f"enqueue {TEAM}")
    assert send["links"] == [{"trace_id": "ab" * 16, "span_id": "cd" * 8}]
    assert (await orch.get_task(TEAM, "own")).extra == {"traceparent": theirs}


async def test_consumer_spans_link_to_the_producer_and_the_context_survives_claim_and_retry(
    orch: OrchestrationStateManager, spans: InMemorySpanExporter
) -> None:
    assert await orch.claim_task(TEAM, "w1") is None  # an empty claim makes no span
    await orch.enqueue_task(TEAM, {"id": "r1"})
    send = only(finished(spans), f"enqueue {TEAM}")
    link = [{"trace_id": send["trace_id"], "span_id": send["span_id"]}]

    task = await orch.claim_task(TEAM, "w1")
    assert task is not None and task.extra["traceparent"] == traceparent(send)
    await orch.fail_task(TEAM, "r1", RuntimeError("flaky"), token=task.token, backoff=_no_delay())
    again = await orch.claim_task(TEAM, "w2")  # retried: the record still carries the producer's context
    assert again is not None and again.id == "r1" and again.extra["traceparent"] == traceparent(send)
    await orch.release_task(TEAM, "r1", token=again.token)
    third = await orch.claim_task(TEAM, "w3")
    assert third is not None
    await orch.complete_task(TEAM, "r1", {"ok": True}, token=third.token)
    assert (await orch.get_task(TEAM, "r1")).extra["traceparent"] == traceparent(send)
    await orch.enqueue_task(TEAM, {"id": "dl"})
    dead = await orch.claim_task(TEAM, "w4")
    assert dead is not None
    await orch.fail_task(TEAM, "dl", "poison", retry=False, token=dead.token)
    assert await orch.retry_dead(TEAM, ["dl"]) == ["dl"]
    revived = await orch.claim_task(TEAM, "w4")
    dl_send = only(finished(spans), f"enqueue {TEAM}", **{"messaging.message.id": "dl"})
    assert revived is not None and revived.extra["traceparent"] == traceparent(dl_send)

    got = [s for s in finished(spans) if s["attributes"].get("messaging.message.id") == "r1"]
    claims = [s for s in got if s["name"] == f"claim {TEAM}"]
    assert [s["attributes"]["messaging.client.id"] for s in claims] == ["w1", "w2", "w3"]
    for s in claims:
        assert s["kind"] == "CLIENT" and s["links"] == link and s["parent_id"] == send["span_id"]
        assert s["attributes"] == messaging(
            "receive",
            "claim",
            **{"messaging.message.id": "r1", "messaging.client.id": s["attributes"]["messaging.client.id"]},
        )
    for name, op in [(f"fail {TEAM}", "fail"), (f"release {TEAM}", "release"), (f"complete {TEAM}", "complete")]:
        s = only(got, name)
        assert s["kind"] == "CLIENT" and s["status"] == "UNSET" and s["links"] == link
        assert s["trace_id"] == send["trace_id"] and s["parent_id"] == send["span_id"]
        assert s["attributes"]["messaging.operation.type"] == "settle"
        assert s["attributes"]["messaging.operation.name"] == op and s["attributes"]["messaging.message.id"] == "r1"


def _no_delay() -> Any:
    from agentstate_redis.orchestration import Backoff

    return Backoff(kind="fixed", delay=0, jitter=0)


async def test_a_refused_settle_is_an_error_span(orch: OrchestrationStateManager, spans: InMemorySpanExporter) -> None:
    await orch.enqueue_task(TEAM, {"id": "s1"})
    task = await orch.claim_task(TEAM, "w1")
    assert task is not None
    with pytest.raises(LeaseError):
        await orch.complete_task(TEAM, "s1", 1, token=task.token + 1)
    s = only(finished(spans), f"complete {TEAM}")
    assert s["status"] == "ERROR" and s["attributes"]["error.type"] == "LeaseError"
    with pytest.raises(InvalidInputError, match="task must be a dict or a Task"):
        await orch.enqueue_task(TEAM, 42)  # bad input: the method's own error, unchanged by the wrapper
    with pytest.raises(InvalidInputError, match="tasks must be a list"):
        await orch.enqueue_tasks(TEAM, "t1")
    refused = [x for x in finished(spans) if x["name"] == f"enqueue {TEAM}" and x["status"] == "ERROR"]
    assert [x["attributes"]["error.type"] for x in refused] == ["InvalidInputError", "InvalidInputError"]


async def test_complete_and_claim_settles_one_and_receives_the_next(
    orch: OrchestrationStateManager, spans: InMemorySpanExporter
) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": "c1"}, {"id": "c2"}])
    first = await orch.claim_task(TEAM, "w1")
    assert first is not None
    nxt = await orch.complete_and_claim(TEAM, first.id, {"ok": 1}, token=first.token)
    assert nxt is not None and nxt.id == "c2"
    got = finished(spans)
    only(got, f"complete {TEAM}", **{"messaging.message.id": "c1"})
    claim = only(got, f"claim {TEAM}", **{"messaging.message.id": "c2"})
    assert claim["attributes"]["messaging.client.id"] == "w1"


async def test_an_ambient_span_stays_the_parent_and_the_producer_is_a_link(
    orch: OrchestrationStateManager, spans: InMemorySpanExporter
) -> None:
    await orch.enqueue_task(TEAM, {"id": "a1"})
    with trace.get_tracer("test").start_as_current_span("coordinator") as ambient:
        task = await orch.claim_task(TEAM, "w1")
    assert task is not None
    got = finished(spans)
    send, claim = only(got, f"enqueue {TEAM}"), only(got, f"claim {TEAM}")
    assert claim["parent_id"] == f"{ambient.get_span_context().span_id:016x}"
    assert claim["links"] == [{"trace_id": send["trace_id"], "span_id": send["span_id"]}]


# -- tool executions -------------------------------------------------------------------------------


async def test_tool_executions_are_execute_tool_spans(redis_backend: RedisBackend, spans: InMemorySpanExporter) -> None:
    tools = ToolStateManager(backend=redis_backend)
    with trace.get_tracer("test").start_as_current_span("agent step") as step:
        await tools.start_execution(ToolExecution(execution_id="e1", tool_name="search_web", agent_id="a1"))
    await tools.complete_execution("e1", {"hits": 3})
    await tools.start_execution(ToolExecution(execution_id="e2", tool_name="fetch_page"))
    await tools.fail_execution("e2", TimeoutError("slow"))
    await tools.start_execution(ToolExecution(execution_id="e3", tool_name="fetch_page"))
    tool_tracing._running.clear()  # as if another process started it: the span starts at the server's time
    await tools.fail_execution("e3", "HTTP 503")
    got = finished(spans)
    e1 = only(got, "execute_tool search_web")
    assert e1["kind"] == "INTERNAL" and e1["status"] == "UNSET"
    assert e1["attributes"] == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "search_web",
        "gen_ai.tool.call.id": "e1",
        "gen_ai.agent.id": "a1",
    }
    assert e1["parent_id"] == f"{step.get_span_context().span_id:016x}"  # the span current at the start
    e2 = only(got, "execute_tool fetch_page", **{"gen_ai.tool.call.id": "e2"})
    assert e2["status"] == "ERROR" and e2["attributes"]["error.type"] == "TimeoutError"
    e3 = only(got, "execute_tool fetch_page", **{"gen_ai.tool.call.id": "e3"})
    assert e3["status"] == "ERROR" and e3["attributes"]["error.type"] == "_OTHER"
    raw = {s.context.span_id: s for s in spans.get_finished_spans()}
    span3 = raw[int(e3["span_id"], 16)]
    assert span3.start_time <= span3.end_time


# -- two processes ---------------------------------------------------------------------------------


def test_producer_and_worker_in_two_processes_share_one_trace(redis_url: str, prefix: str, tmp_path: Path) -> None:
    """A producer process enqueues under its own request span; a worker process (run_worker) handles
    the tasks. Each exports its spans to a file: every worker span about a task links to the
    producer's enqueue span of that task and is its child, the handler's spans are children of process."""
    ids = ["t1", "bad1", "t2"]
    (made,) = run_processes(producer, [(redis_url, prefix, TEAM, str(tmp_path / "producer.json"), ids)])
    assert made == len(ids) + 1
    (result,) = run_processes(worker, [(redis_url, prefix, TEAM, str(tmp_path / "worker.json"), len(ids))])
    assert (result["completed"], result["failed"]) == (2, 1)
    produced = json.loads((tmp_path / "producer.json").read_text())
    handled = json.loads((tmp_path / "worker.json").read_text())

    request = only(produced, "http request")
    for task_id in ids:
        send = only(produced, f"enqueue {TEAM}", **{"messaging.message.id": task_id})
        assert send["kind"] == "PRODUCER" and send["parent_id"] == request["span_id"]
        assert traceparent(send) == result["traceparents"][task_id]  # what the handler saw in task.extra
        link = [{"trace_id": send["trace_id"], "span_id": send["span_id"]}]
        mine = [s for s in handled if s["attributes"].get("messaging.message.id") == task_id]
        kinds = {s["attributes"]["messaging.operation.type"]: s for s in mine}
        assert set(kinds) == {"receive", "process", "settle"} and len(mine) == 3, mine
        assert (kinds["receive"]["kind"], kinds["process"]["kind"], kinds["settle"]["kind"]) == (
            "CLIENT",
            "CONSUMER",
            "CLIENT",
        )
        for s in mine:
            assert s["links"] == link and s["trace_id"] == send["trace_id"] and s["parent_id"] == send["span_id"]
            assert s["attributes"]["messaging.client.id"] == "pod-1"
            assert s["attributes"]["messaging.destination.name"] == TEAM
        process = kinds["process"]
        assert process["name"] == f"process {TEAM}"
        children = [s for s in handled if s["parent_id"] == process["span_id"]]
        assert sorted(s["name"] for s in children) == ["execute_tool search_web", "llm call"]
        tool = only(children, "execute_tool search_web")
        assert tool["attributes"]["gen_ai.tool.call.id"] == f"x-{task_id}"
        if task_id == "bad1":
            assert process["status"] == "ERROR" and process["attributes"]["error.type"] == "RuntimeError"
            assert kinds["settle"]["attributes"]["messaging.operation.name"] == "fail"
        else:
            assert process["status"] == "UNSET"
            assert kinds["settle"]["attributes"]["messaging.operation.name"] == "complete"


# -- the blocking API ------------------------------------------------------------------------------


def test_sync_api_spans_keep_the_callers_context(redis_url: str, prefix: str, spans: InMemorySpanExporter) -> None:
    """The blocking twins run on their own loop thread: the caller's span is still the enqueue span's
    parent, and a plain handler of the blocking run_worker (run on a pool thread) is inside process."""
    from agentstate_redis import sync

    backend = sync.RedisBackend(redis_url, key_prefix=prefix)
    orch = sync.OrchestrationStateManager(backend=backend)
    tracer = trace.get_tracer("test")
    try:
        orch.create_team(TEAM)
        with tracer.start_as_current_span("sync request") as request:
            orch.enqueue_task(TEAM, {"id": "s1"})

        def handle(task: Any) -> Any:
            with tracer.start_as_current_span("blocking step"):
                return {"ok": task.id}

        stats = sync.run_worker(orch, TEAM, "w1", handle, max_tasks=1, claim_wait=0.5, install_signals=False)
        assert stats.completed == 1
    finally:
        backend.close()
    got = finished(spans)
    send, process = only(got, f"enqueue {TEAM}"), only(got, f"process {TEAM}")
    assert send["parent_id"] == f"{request.get_span_context().span_id:016x}"
    assert process["parent_id"] == send["span_id"]
    assert only(got, "blocking step")["parent_id"] == process["span_id"]

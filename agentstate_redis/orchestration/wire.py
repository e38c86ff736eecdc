"""Between the facade and the scripts: task/agent fields to ARGV, script replies to models.

>>> task_args(Task(id="t1", type="analysis", priority="high"), dumps)
['t1', 'analysis', 'analysis', 100, 3, '{"data":null,"extra":{}}']
>>> decode_task({"task": ["id", "t1", "status", "pending", ...], "errors": []})
Task(id='t1', status='pending', ...)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

import orjson

from ..codec import loads
from .models import AgentCoordinationState, ClaimedTask, OnDependencyFailure, Task, TaskStatus


def pairs(flat: Any) -> dict[str, str]:
    """A flat ``[field, value, ...]`` list (as HGETALL returns it) as a dict."""
    if not flat or isinstance(flat, dict):
        return {}
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def as_list(value: Any) -> list[Any]:
    """Lua's cjson encodes an empty table as ``{}``; read it as an empty list."""
    return value if isinstance(value, list) else []


def reply(raw: Any) -> Any:
    return orjson.loads(raw)


def join_caps(caps: Iterable[str]) -> str:
    """``["a", "b"]`` -> ``"\\na\\nb\\n"`` (what Lua matches with a plain find)."""
    return "\n" + "".join(f"{c}\n" for c in caps)


def split_caps(text: str) -> list[str]:
    return [c for c in text.split("\n") if c]


def task_args(task: Task, dumps: Callable[..., str]) -> list[Any]:
    empty = task.data is None and not task.extra  # stored as no payload field: decode_task reads the same task
    payload = "" if empty else dumps({"data": task.data, "extra": task.extra}, what=f"task {task.id!r}")
    return [task.id, task.type or "", task.required_capability or "", task.priority, task.max_attempts, payload]


def flow_task_args(task: Task, dumps: Callable[..., str]) -> list[Any]:
    """The 8 ARGV fields of a task in orchestration/flow_enqueue: task_args, its policy, its dependencies."""
    return [*task_args(task, dumps), task.on_dependency_failure, "\n".join(task.depends_on)]


def _seconds(ms: str | None) -> float | None:
    return int(ms) / 1000 if ms not in (None, "", "inf", "+inf") else None


def _int(text: str | None) -> int | None:
    return int(text) if text not in (None, "") else None


def decode_task(view: Any, cls: type[Task] = Task) -> Task:
    """A ``{task: [flat hash], errors: [...]}`` (or ``[flat, errors]``) reply as a Task (or ClaimedTask)."""
    if isinstance(view, list):
        view = {"task": view[0], "errors": view[1] if len(view) > 1 else []}
    f = pairs(view.get("task"))
    payload = loads(f["payload"]) if f.get("payload") else {}
    return cls.model_construct(
        id=f["id"],
        type=f.get("type") or None,
        capability=f.get("cap") or None,
        priority=int(f.get("prio", 50)),
        data=payload.get("data"),
        extra=payload.get("extra") or {},
        max_attempts=int(f.get("max_attempts", 1)),
        status=cast(TaskStatus, f.get("status", "pending")),
        attempts=int(f.get("attempts", 0)),
        failures=int(f.get("failures", 0)),
        stalls=int(f.get("stalls", 0)),
        agent_id=f.get("agent") or None,
        token=_int(f.get("token")),
        result=loads(f["result"]) if f.get("result") else None,
        errors=list(as_list(view.get("errors"))),
        last_error=f.get("last_error") or None,
        completed_by=f.get("completed_by") or None,
        enqueued_at=_seconds(f.get("enqueued_at")),
        started_at=_seconds(f.get("started_at")),
        finished_at=_seconds(f.get("finished_at")),
        lease_until=_seconds(f.get("lease_until")),
        next_run_at=_seconds(f.get("next_run_at")),
        cancel_reason=f.get("cancel_reason") or None,
        progress=loads(f["progress"]) if f.get("progress") else None,
        logs=list(as_list(view.get("logs"))),
        depends_on=split_caps(f.get("deps", "")),
        on_dependency_failure=cast(OnDependencyFailure, f.get("on_dep_fail") or "fail"),
        dependency_results={k: loads(v) for k, v in pairs(view.get("inputs")).items()},
    )


def decode_claimed(view: dict[str, Any]) -> ClaimedTask:
    task = decode_task(view, ClaimedTask)
    assert isinstance(task, ClaimedTask)
    return task


def decode_agent(flat: Any) -> AgentCoordinationState:
    f = pairs(flat)
    online = f.get("online", "1") == "1"
    return AgentCoordinationState.model_construct(
        agent_id=f["id"],
        status=f.get("status", "idle") if online else "offline",
        capabilities=split_caps(f.get("caps", "")),
        current_task=f.get("current_task") or None,
        metadata=loads(f["meta"]) if f.get("meta") else {},
        online=online,
        last_heartbeat=_seconds(f.get("heartbeat_at")),
        updated_at=_seconds(f.get("updated_at")),
    )

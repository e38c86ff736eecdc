"""Stored hashes (as the scripts return them) -> public models.

>>> execution_from_hash(["tool", "search_web", "id", "exec_001", "status", "running", ...])
ToolExecution(execution_id='exec_001', ...)
"""

from __future__ import annotations

from typing import Any

from ..codec import loads
from ..decode import server_time
from .models import RetryState, ToolExecution, ToolStats


def execution_from_hash(h: dict[str, str]) -> ToolExecution:
    doc = loads(h.get("doc") or "{}")
    dur = h.get("dur_us")
    return ToolExecution.parse(
        {
            "execution_id": h["id"],
            "tool_name": h["tool"],
            "status": h["status"],
            "started_at": doc.get("started_at") or server_time(h.get("t0")),
            "parameters": doc.get("parameters") or {},
            "agent_id": doc.get("agent_id"),
            "metadata": doc.get("metadata") or {},
            "result": loads(h["result"]) if "result" in h else None,
            "error": h.get("error"),
            "completed_at": server_time(h.get("t1")),
            "duration_ms": int(float(dur)) / 1000 if dur is not None else None,
        }
    )


def retry_from_doc(execution_id: str, due_ms: Any, doc_text: str | None) -> RetryState:
    doc = loads(doc_text or "{}")
    doc["execution_id"] = execution_id
    doc["next_retry_at"] = server_time(due_ms)
    return RetryState.parse(doc)


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def stats_from_hash(tool_name: str, h: dict[str, str]) -> ToolStats:
    started = int(h.get("started", 0))
    done = int(h.get("completed", 0))
    failed = int(h.get("failed", 0))
    finished = done + failed
    total_ms = int(h.get("dur_us", 0)) / 1000
    hits, misses = int(h.get("hits", 0)), int(h.get("misses", 0))
    return ToolStats(
        tool_name=tool_name,
        total_executions=started,
        successful_executions=done,
        failed_executions=failed,
        running_executions=max(0, started - finished),
        success_rate=_rate(done, finished),
        error_rate=_rate(failed, finished),
        avg_duration_ms=total_ms / finished if finished else 0.0,
        total_duration_ms=total_ms,
        cache_hits=hits,
        cache_misses=misses,
        cache_hit_rate=_rate(hits, hits + misses),
        last_execution_at=server_time(h.get("last")),
    )

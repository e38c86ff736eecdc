"""Between the models and the stored hashes of a knowledge base (no key names, no I/O).

>>> progress_from_hash("kb1", ["status", "in_progress", "total", "10", ...], now_ms)
IndexingProgress(knowledge_base_id='kb1', status=<IndexingStatus.IN_PROGRESS: ...>, ...)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..codec import loads
from ..decode import pairs, server_time
from .models import IndexingProgress, IndexingStatus, SourceState


def _json(raw: str | None, default: Any = None) -> Any:
    return default if raw in (None, "") else loads(raw)


def progress_from_hash(kb_id: str, flat: Sequence[str] | dict[str, str], now_ms: int) -> IndexingProgress:
    """Build the progress, with the rate and ETA measured on the server's clock."""
    h = flat if isinstance(flat, dict) else pairs(flat)
    status = IndexingStatus(h["status"])
    total, processed, failed = int(h.get("total", 0)), int(h.get("processed", 0)), int(h.get("failed", 0))
    rate = eta = None
    t0, n0 = h.get("rate_t0"), h.get("rate_n0")
    if status is IndexingStatus.COMPLETED:
        eta = 0.0
    if t0 and n0 is not None and status is IndexingStatus.IN_PROGRESS:
        elapsed = (now_ms - int(float(t0))) / 1000
        since = processed + failed - int(n0)
        if elapsed > 0 and since > 0:
            rate = since / elapsed
            eta = max(total - processed - failed, 0) / rate
    return IndexingProgress.parse(
        {
            "knowledge_base_id": kb_id,
            "status": status,
            "total_documents": total,
            "processed_documents": processed,
            "failed_documents": failed,
            "started_at": server_time(h.get("started_at")),
            "updated_at": server_time(h.get("updated_at")),
            "completed_at": server_time(h.get("completed_at")),
            "run": int(h.get("run", 0)),
            "error": _json(h.get("error")),
            "metadata": _json(h.get("metadata"), {}),
            "documents_per_second": rate,
            "eta_seconds": eta,
        }
    )


def source_fields(source: SourceState, dumps: Any) -> list[str]:
    """The stored fields of a source (counters as integers, user values as JSON text)."""
    out = [
        "sync_status",
        source.sync_status.value,
        "documents_synced",
        str(source.documents_synced),
        "documents_pending",
        str(source.documents_pending),
        "embeddings_count",
        str(source.embeddings_count),
        "storage_size_bytes",
        str(source.storage_size_bytes),
        "metadata",
        dumps(source.metadata, what=f"metadata of source {source.source_id!r}"),
    ]
    if source.last_sync is not None:
        out += ["last_sync", dumps(source.last_sync, what="last_sync")]
    if source.error is not None:
        out += ["error", dumps(source.error, what="error")]
    return out


def source_from_hash(kb_id: str, source_id: str, flat: Sequence[str] | dict[str, str]) -> SourceState:
    h = flat if isinstance(flat, dict) else pairs(flat)
    return SourceState.parse(
        {
            "source_id": source_id,
            "knowledge_base_id": kb_id,
            "sync_status": h.get("sync_status", "pending"),
            "last_sync": _json(h.get("last_sync")),
            "documents_synced": int(h.get("documents_synced", 0)),
            "documents_pending": int(h.get("documents_pending", 0)),
            "embeddings_count": int(h.get("embeddings_count", 0)),
            "storage_size_bytes": int(h.get("storage_size_bytes", 0)),
            "error": _json(h.get("error")),
            "metadata": _json(h.get("metadata"), {}),
            "updated_at": server_time(h.get("updated_at")),
            "version": int(h.get("#v", 0)),
        }
    )

"""The knowledge-base models: indexing progress, source sync state and the aggregate.

    >>> IndexingProgress(knowledge_base_id="company_docs", status=IndexingStatus.IN_PROGRESS,
    ...                  total_documents=1000, processed_documents=450, failed_documents=5)
    >>> SourceState(source_id="confluence", knowledge_base_id="company_docs",
    ...             sync_status=SyncStatus.SYNCING, documents_synced=250, documents_pending=50)

Times the library records (``started_at``, ``updated_at``, ``completed_at``)
come from the Redis server's clock; values passed in for them are ignored.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import Field

from ..model import Model, UtcDatetime


class IndexingStatus(str, Enum):
    """Status of an indexing run. Completed, failed and cancelled runs only change by a new run."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class SyncStatus(str, Enum):
    """Synchronisation status of one source of a knowledge base."""

    PENDING = "pending"
    SYNCING = "syncing"
    SYNCED = "synced"
    FAILED = "failed"
    STALE = "stale"


class IndexingProgress(Model):
    """Progress of the current indexing run; ``eta_seconds`` is remaining / observed rate."""

    knowledge_base_id: str = Field(min_length=1)
    status: IndexingStatus = IndexingStatus.PENDING
    total_documents: int = Field(0, ge=0)
    processed_documents: int = Field(0, ge=0)
    failed_documents: int = Field(0, ge=0)
    started_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    run: int = Field(0, ge=0)
    error: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    documents_per_second: float | None = None
    eta_seconds: float | None = None

    @property
    def remaining_documents(self) -> int:
        return max(self.total_documents - self.processed_documents - self.failed_documents, 0)

    @property
    def progress(self) -> float:
        """Fraction of the run done (processed + failed over total); 0 when the total is unknown."""
        if not self.total_documents:
            return 0.0
        return min((self.processed_documents + self.failed_documents) / self.total_documents, 1.0)


class SourceState(Model):
    """What one source (a wiki, a bucket, a repository) has synced into a knowledge base."""

    source_id: str = Field(min_length=1)
    knowledge_base_id: str = Field(min_length=1)
    sync_status: SyncStatus = SyncStatus.PENDING
    last_sync: UtcDatetime | None = None  # the caller's; held as aware UTC (a naive one is local time)
    documents_synced: int = Field(0, ge=0)
    documents_pending: int = Field(0, ge=0)
    embeddings_count: int = Field(0, ge=0)
    storage_size_bytes: int = Field(0, ge=0)
    error: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime | None = None
    version: int = Field(0, ge=0)


class KnowledgeBaseState(Model):
    """A knowledge base at a glance: its sources summed, plus its current indexing run.

    ``total_documents``, ``total_embeddings`` and ``storage_size_mb`` sum the
    sources; ``last_updated`` is the latest write to any source or run.
    """

    knowledge_base_id: str
    total_documents: int = 0
    pending_documents: int = 0
    total_embeddings: int = 0
    storage_size_bytes: int = 0
    storage_size_mb: float = 0.0
    last_updated: datetime | None = None
    source_count: int = 0
    sources_by_status: dict[SyncStatus, int] = Field(default_factory=dict)
    indexing_status: IndexingStatus | None = None
    indexing_runs: int = 0
    indexed_documents: int = 0
    failed_documents: int = 0
    version: int = 0
    sources: list[SourceState] = Field(default_factory=list)
    indexing: IndexingProgress | None = None

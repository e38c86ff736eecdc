"""KnowledgeStateManager: indexing progress reported by many indexers, source sync state, the aggregate.

    >>> kb_state = KnowledgeStateManager(persistence="redis", redis_url="redis://localhost:6379")
    >>> await kb_state.start_indexing("company_docs", total_documents=1000)
    >>> await kb_state.record_documents("company_docs", processed=10, failed=1)   # from any process
    >>> p = await kb_state.get_indexing_progress("company_docs")
    >>> p.processed_documents, p.status, p.eta_seconds
    (10, <IndexingStatus.IN_PROGRESS: 'in_progress'>, 42.7)

Every operation is one script on keys tagged ``{kb:<id>}`` (``lua/knowledge/``):
increments are atomic and retried calls apply once, so counts from any
number of processes are exact. A run completes by itself when processed +
failed reaches the total; a completed, failed or cancelled run only changes
through ``start_indexing`` (a new run, counters reset).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from .. import validate
from ..errors import NotFoundError
from ..events import GapCallback
from ..subscription import Subscription
from ..subscription import DEFAULT_MAX_PENDING
from ..keys import validate_id
from ..manager import BaseManager, Layout
from ..validate import integer
from ..decode import pairs, server_time
from .codec import progress_from_hash, source_fields, source_from_hash
from .events import KnowledgeEvent
from .models import IndexingProgress, KnowledgeBaseState, SourceState, SyncStatus

_MB = 1024 * 1024


class KnowledgeStateManager(BaseManager):
    """Knowledge-base indexing and synchronisation state (see the module docstring)."""

    kind = "kb"
    layout = Layout("kb", "knowledge", ("progress", "sources", "source:"))

    def __init__(self, persistence: Any = None, **kwargs: Any) -> None:
        super().__init__(persistence, **kwargs)

    async def _progress_call(self, verb: str, kb_id: str, args: list[Any]) -> IndexingProgress:
        reply = orjson.loads(await self._write(verb, kb_id, *args))
        return progress_from_hash(kb_id, reply["progress"], int(reply["now"]))

    # -- indexing ------------------------------------------------------------------------------

    async def start_indexing(
        self,
        knowledge_base_id: str,
        total_documents: int,
        *,
        metadata: dict[str, Any] | None = None,
        restart: bool = False,
    ) -> IndexingProgress:
        """Begin a new run: counters reset, status IN_PROGRESS, clock started on the server.

            >>> await kb_state.start_indexing("company_docs", total_documents=8000)

        A run still in progress or paused raises InvalidTransitionError unless ``restart=True``.
        """
        validate_id("kb", knowledge_base_id)
        integer("total_documents", total_documents, minimum=0)
        meta = self._dumps({} if metadata is None else validate.mapping("metadata", metadata), what="metadata")
        return await self._progress_call(
            "start_run",
            knowledge_base_id,
            [total_documents, meta, "1" if validate.boolean("restart", restart) else "0"],
        )

    async def record_documents(self, knowledge_base_id: str, processed: int = 1, failed: int = 0) -> IndexingProgress:
        """Atomically add processed / failed documents to the current run; returns the progress after it.

            >>> p = await kb_state.record_documents("company_docs", processed=1)

        The first report of a PENDING run starts it; reaching the total completes it.
        No run -> NotFoundError; a run not in progress -> InvalidTransitionError.
        """
        validate_id("kb", knowledge_base_id)
        integer("processed", processed, minimum=0)
        integer("failed", failed, minimum=0)
        return await self._progress_call("record", knowledge_base_id, [processed, failed])

    async def update_indexing_progress(self, progress: IndexingProgress) -> IndexingProgress:
        """Set the whole progress (status and counters); returns it as stored.

            >>> await kb_state.update_indexing_progress(IndexingProgress(
            ...     knowledge_base_id="company_docs", status=IndexingStatus.IN_PROGRESS,
            ...     total_documents=1000, processed_documents=450, failed_documents=5))

        The status move is checked (InvalidTransitionError): a completed, failed or
        cancelled run does not go back without ``start_indexing``. Server-owned
        fields (times, run, rate, ETA) are ignored.
        """
        progress = validate.model("progress", IndexingProgress, progress)
        p = progress
        error = "" if p.error is None else self._dumps(p.error, what="error")
        return await self._progress_call(
            "set_progress",
            p.knowledge_base_id,
            [
                p.status.value,
                p.total_documents,
                p.processed_documents,
                p.failed_documents,
                error,
                self._dumps(p.metadata, what="metadata"),
            ],
        )

    async def get_indexing_progress(self, knowledge_base_id: str) -> IndexingProgress:
        """The current run, with ``documents_per_second`` and ``eta_seconds`` on the server clock.

        NotFoundError if the knowledge base has never had a run.
        """
        validate_id("kb", knowledge_base_id)
        reply = await self._read("get_progress", knowledge_base_id)
        if len(reply) <= 2:
            raise NotFoundError(f"kb {knowledge_base_id!r} has no indexing run", kind="kb", id=knowledge_base_id)
        return progress_from_hash(knowledge_base_id, reply[2:], int(reply[0]))

    # -- sources -------------------------------------------------------------------------------

    async def update_source_state(self, source: SourceState) -> SourceState:
        """Replace one source's state; returns it as stored (with ``updated_at`` and ``version``).

        >>> await kb_state.update_source_state(SourceState(
        ...     source_id="confluence", knowledge_base_id="company_docs",
        ...     sync_status=SyncStatus.SYNCED, documents_synced=250, embeddings_count=1200))
        """
        source = validate.model("source", SourceState, source)
        validate_id("kb", source.knowledge_base_id)
        validate_id("source", source.source_id)
        reply = orjson.loads(
            await self._write(
                "set_source", source.knowledge_base_id, source.source_id, *source_fields(source, self._dumps)
            )
        )
        return source_from_hash(source.knowledge_base_id, source.source_id, reply["source"])

    async def _snapshot(self, kb_id: str) -> list[Any]:
        return list(await self._read("get_state", kb_id))

    async def get_sources(self, knowledge_base_id: str) -> list[SourceState]:
        """Every source of the knowledge base, sorted by id (empty if none)."""
        reply = await self._snapshot(knowledge_base_id)
        return [source_from_hash(knowledge_base_id, reply[i], reply[i + 1]) for i in range(3, len(reply), 2)]

    # -- the aggregate ---------------------------------------------------------------------------

    async def get_knowledge_base_state(self, knowledge_base_id: str) -> KnowledgeBaseState:
        """Sources summed and the current run, from one consistent read.

            >>> s = await kb_state.get_knowledge_base_state("company_docs")
            >>> s.total_documents, s.total_embeddings, s.storage_size_mb, s.last_updated

        NotFoundError if nothing was ever recorded for it.
        """
        reply = await self._snapshot(knowledge_base_id)
        now, kb, prog = int(reply[0]), pairs(reply[1]), pairs(reply[2])
        if not kb:
            raise NotFoundError(f"kb {knowledge_base_id!r} not found", kind="kb", id=knowledge_base_id)
        sources = [source_from_hash(knowledge_base_id, reply[i], reply[i + 1]) for i in range(3, len(reply), 2)]
        progress = progress_from_hash(knowledge_base_id, prog, now) if prog else None
        by_status: dict[SyncStatus, int] = {}
        for s in sources:
            by_status[s.sync_status] = by_status.get(s.sync_status, 0) + 1
        storage = sum(s.storage_size_bytes for s in sources)
        return KnowledgeBaseState(
            knowledge_base_id=knowledge_base_id,
            total_documents=sum(s.documents_synced for s in sources),
            pending_documents=sum(s.documents_pending for s in sources),
            total_embeddings=sum(s.embeddings_count for s in sources),
            storage_size_bytes=storage,
            storage_size_mb=round(storage / _MB, 3),
            last_updated=server_time(kb.get("updated_at")),
            source_count=len(sources),
            sources_by_status=by_status,
            indexing_status=progress.status if progress else None,
            indexing_runs=int(kb.get("runs", 0)),
            indexed_documents=progress.processed_documents if progress else 0,
            failed_documents=progress.failed_documents if progress else 0,
            version=int(kb.get("#v", 0)),
            sources=sources,
            indexing=progress,
        )

    # -- events ----------------------------------------------------------------------------------

    def subscribe(
        self,
        id_glob: str,
        callback: Callable[[KnowledgeEvent], Any],
        *,
        on_gap: GapCallback | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> Subscription:
        """Call ``callback(KnowledgeEvent)`` for every change, by any process, to matching knowledge bases.

            >>> await kb_state.subscribe("company_*", lambda e: print(e.op, e.version), on_gap=print)

        Events this subscription may have missed reach ``on_gap(Gap)``; fields too large for one
        event are named in ``event.omitted`` (read them with ``get_indexing_progress``).
        """
        return self._subscribe_typed(
            "id_glob",
            id_glob,
            callback,
            lambda event: callback(KnowledgeEvent.from_change(event)),
            on_gap=on_gap,
            max_pending=max_pending,
        )

    def unsubscribe(self, id_glob: str, callback: Callable[[KnowledgeEvent], Any]) -> None:
        self._unsubscribe_typed("id_glob", id_glob, callback)

"""KnowledgeStateManager: exact counts from many indexers, checked status moves, ETA, aggregate, events."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from agentstate_redis import InvalidInputError, InvalidTransitionError, NotFoundError
from agentstate_redis.knowledge import (
    IndexingProgress,
    IndexingStatus,
    KnowledgeEvent,
    KnowledgeStateManager,
    SourceState,
    SyncStatus,
)

from .. import workers_knowledge
from ..procs import run_processes


async def test_run_counts_completes_and_reports_eta(kb: KnowledgeStateManager) -> None:
    before = time.monotonic()
    started = await kb.start_indexing("docs", total_documents=100)
    assert started.status is IndexingStatus.IN_PROGRESS and started.run == 1
    assert started.processed_documents == 0 and started.started_at is not None
    await asyncio.sleep(0.2)
    await kb.record_documents("docs", processed=15, failed=5)
    p = await kb.get_indexing_progress("docs")
    elapsed = time.monotonic() - before
    assert (p.processed_documents, p.failed_documents, p.remaining_documents) == (15, 5, 80)
    assert p.progress == pytest.approx(0.2)
    # rate = 20 docs over the server time since the start (>= the 0.2 s slept, <= what we measured)
    assert 80 * 0.2 / 20 <= p.eta_seconds <= 80 * elapsed / 20 + 0.01
    assert p.documents_per_second == pytest.approx(80 / p.eta_seconds)
    done = await kb.record_documents("docs", processed=80)
    assert done.status is IndexingStatus.COMPLETED and done.eta_seconds == 0.0
    assert done.completed_at is not None and done.completed_at >= done.started_at


async def test_completed_run_only_moves_through_a_new_run(kb: KnowledgeStateManager) -> None:
    await kb.start_indexing("docs", total_documents=2)
    with pytest.raises(InvalidTransitionError) as err:
        await kb.start_indexing("docs", total_documents=5)
    assert err.value.status == "in_progress"
    await kb.record_documents("docs", processed=2)
    back = IndexingProgress(knowledge_base_id="docs", status=IndexingStatus.IN_PROGRESS, total_documents=2)
    with pytest.raises(InvalidTransitionError) as err:
        await kb.update_indexing_progress(back)
    assert err.value.status == "completed"
    with pytest.raises(InvalidTransitionError):
        await kb.record_documents("docs")
    assert (await kb.get_indexing_progress("docs")).processed_documents == 2
    new = await kb.start_indexing("docs", total_documents=5)
    assert (new.run, new.processed_documents, new.status) == (2, 0, IndexingStatus.IN_PROGRESS)
    restarted = await kb.start_indexing("docs", total_documents=7, restart=True)
    assert (restarted.run, restarted.total_documents) == (3, 7)


async def test_seed_progress_and_pending_run_starts_on_first_report(kb: KnowledgeStateManager) -> None:
    seeded = await kb.update_indexing_progress(
        IndexingProgress(
            knowledge_base_id="company_docs",
            status=IndexingStatus.IN_PROGRESS,
            total_documents=1000,
            processed_documents=450,
            failed_documents=5,
            metadata={"model": "e5"},
        )
    )
    assert (seeded.processed_documents, seeded.failed_documents, seeded.run) == (450, 5, 1)
    assert seeded.started_at is not None and seeded.metadata == {"model": "e5"}
    paused = await kb.update_indexing_progress(seeded.model_copy(update={"status": IndexingStatus.PAUSED}))
    assert paused.status is IndexingStatus.PAUSED and paused.eta_seconds is None
    with pytest.raises(InvalidTransitionError):
        await kb.record_documents("company_docs")

    pending = await kb.update_indexing_progress(
        IndexingProgress(knowledge_base_id="other", status=IndexingStatus.PENDING, total_documents=10)
    )
    assert pending.started_at is None
    first = await kb.record_documents("other", processed=3)
    assert first.status is IndexingStatus.IN_PROGRESS and first.started_at is not None


async def test_bad_input_and_missing_runs(kb: KnowledgeStateManager) -> None:
    with pytest.raises(NotFoundError):
        await kb.record_documents("nothing")
    with pytest.raises(NotFoundError):
        await kb.get_indexing_progress("nothing")
    with pytest.raises(NotFoundError):
        await kb.get_knowledge_base_state("nothing")
    for bad in ({"processed": -1}, {"failed": 1.5}, {"processed": True}):
        with pytest.raises(InvalidInputError):
            await kb.record_documents("nothing", **bad)
    with pytest.raises(InvalidInputError):
        await kb.start_indexing("", total_documents=3)
    with pytest.raises(InvalidInputError):
        await kb.start_indexing("x", total_documents=-3)
    with pytest.raises(InvalidInputError, match="processed_documents"):
        IndexingProgress(knowledge_base_id="x", processed_documents=-1)
    with pytest.raises(InvalidInputError, match="sync_status"):
        SourceState(source_id="s", knowledge_base_id="x", sync_status="bogus")
    assert await kb.get_sources("x") == []


async def test_retried_record_applies_once(kb: KnowledgeStateManager) -> None:
    await kb.start_indexing("docs", total_documents=10)
    keys = kb._entity_keys("docs")
    args = ["op-1", "", "docs", 1, 0]
    first = await kb.backend.run("knowledge/record", keys, args)
    again = await kb.backend.run("knowledge/record", keys, args)  # a retry after a lost reply
    assert first == again
    assert (await kb.get_indexing_progress("docs")).processed_documents == 1


async def test_aggregate_across_sources(kb: KnowledgeStateManager) -> None:
    specs = [
        ("confluence", SyncStatus.SYNCED, 250, 0, 1200, 3 * 1024 * 1024),
        ("gdrive", SyncStatus.SYNCING, 100, 50, 400, 1024 * 1024),
        ("github", SyncStatus.FAILED, 10, 5, 30, 512 * 1024),
    ]
    for sid, status, synced, pending, emb, size in specs:
        stored = await kb.update_source_state(
            SourceState(
                source_id=sid,
                knowledge_base_id="company_docs",
                sync_status=status,
                documents_synced=synced,
                documents_pending=pending,
                embeddings_count=emb,
                storage_size_bytes=size,
            )
        )
        assert stored.version == 1 and stored.updated_at is not None
    # replacing a source's state replaces its numbers, it does not add to them
    again = await kb.update_source_state(
        SourceState(
            source_id="gdrive",
            knowledge_base_id="company_docs",
            sync_status=SyncStatus.SYNCED,
            documents_synced=150,
            embeddings_count=600,
            storage_size_bytes=1024 * 1024,
            error=None,
        )
    )
    assert again.version == 2
    await kb.start_indexing("company_docs", total_documents=410)
    await kb.record_documents("company_docs", processed=400, failed=3)

    state = await kb.get_knowledge_base_state("company_docs")
    assert state.total_documents == 250 + 150 + 10
    assert state.pending_documents == 0 + 0 + 5
    assert state.total_embeddings == 1200 + 600 + 30
    assert state.storage_size_bytes == 4 * 1024 * 1024 + 512 * 1024
    assert state.storage_size_mb == pytest.approx(4.5)
    assert state.source_count == 3
    assert state.sources_by_status == {SyncStatus.SYNCED: 2, SyncStatus.FAILED: 1}
    assert state.indexing_status is IndexingStatus.IN_PROGRESS
    assert (state.indexed_documents, state.failed_documents, state.indexing_runs) == (400, 3, 1)
    assert state.last_updated is not None and state.last_updated >= again.updated_at
    assert state.version == 6  # 4 source writes + start + record
    sources = await kb.get_sources("company_docs")
    assert [s.source_id for s in sources] == ["confluence", "gdrive", "github"]
    assert sources[1].documents_synced == 150 and sources[1].sync_status is SyncStatus.SYNCED


async def test_subscribers_get_typed_events(kb: KnowledgeStateManager) -> None:
    seen: list[KnowledgeEvent] = []
    await kb.subscribe("docs*", seen.append)
    await kb.start_indexing("docs", total_documents=3)
    await kb.record_documents("docs", processed=2)
    await kb.update_source_state(SourceState(source_id="s1", knowledge_base_id="docs", documents_synced=2))
    await kb.start_indexing("elsewhere", total_documents=1)
    for _ in range(200):
        if len(seen) >= 3:
            break
        await asyncio.sleep(0.02)
    assert [(e.knowledge_base_id, e.op, e.version) for e in seen] == [
        ("docs", "start_indexing", 1),
        ("docs", "record", 2),
        ("docs", "update_source", 3),
    ]
    assert seen[1].progress is not None and seen[1].progress.processed_documents == 2
    assert seen[2].source is not None and seen[2].source.documents_synced == 2


async def test_eight_indexers_report_exact_counts(redis_url: str, prefix: str, redis_backend) -> None:
    kb = KnowledgeStateManager(backend=redis_backend)
    await kb.start_indexing("fleet", total_documents=8000)
    results = run_processes(
        workers_knowledge.report_documents, [(redis_url, prefix, "fleet", 1000, 100) for _ in range(8)]
    )
    p = await kb.get_indexing_progress("fleet")
    assert (p.processed_documents, p.failed_documents) == (8 * 990, 8 * 10)
    assert p.status is IndexingStatus.COMPLETED and p.eta_seconds == 0.0 and p.remaining_documents == 0
    etas = [eta for r in results for eta in r["etas"]]
    assert etas and all(math.isfinite(e) and e >= 0 for e in etas)
    # exactly one report completed the run; none was refused
    assert sum("completed" in r["statuses"] for r in results) == 1

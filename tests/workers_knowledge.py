"""Worker processes for the knowledge-manager tests (spawned by tests.procs.run_processes)."""

from __future__ import annotations

import asyncio
from typing import Any

from agentstate_redis.knowledge import KnowledgeStateManager


def report_documents(redis_url: str, prefix: str, kb_id: str, documents: int, fail_every: int) -> dict[str, Any]:
    """One indexer: report ``documents`` single documents, every ``fail_every``-th as failed."""
    return asyncio.run(_report(redis_url, prefix, kb_id, documents, fail_every))


async def _report(redis_url: str, prefix: str, kb_id: str, documents: int, fail_every: int) -> dict[str, Any]:
    async with KnowledgeStateManager(persistence="redis", redis_url=redis_url, key_prefix=prefix) as kb:
        etas: list[float] = []
        statuses: set[str] = set()
        for i in range(documents):
            failed = 1 if fail_every and (i + 1) % fail_every == 0 else 0
            progress = await kb.record_documents(kb_id, processed=1 - failed, failed=failed)
            statuses.add(progress.status.value)
            if progress.eta_seconds is not None and progress.status.value == "in_progress":
                etas.append(progress.eta_seconds)
        return {"etas": etas, "statuses": sorted(statuses)}

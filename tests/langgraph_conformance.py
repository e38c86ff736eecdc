"""Running LangGraph's conformance suite (langgraph-checkpoint-conformance) on our savers.

    >>> report = await run_conformance(lambda prefix: MemoryBackend(key_prefix=prefix))
    >>> assert_full(report)

Each capability suite gets a fresh saver on a fresh key prefix (the suite reuses thread ids such
as ``thread-0`` across suites). ``face="sync"`` checks the synchronous methods: the saver's
``a*`` methods are swapped for the sync ones run in a worker thread.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import BASE_CAPABILITIES, EXTENDED_CAPABILITIES

from agentstate_redis.backends.base import Backend
from agentstate_redis.langgraph import AsyncCheckpointSaver, CheckpointSaver

BASE_TESTS, EXTENDED_TESTS = 58, 23


class SyncFace(CheckpointSaver):
    """CheckpointSaver whose ``a*`` methods call its sync methods in a thread (what the suite sees)."""

    async def aget_tuple(self, config: Any) -> Any:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(self, config: Any, **kwargs: Any) -> Any:
        for item in await asyncio.to_thread(lambda: list(self.list(config, **kwargs))):
            yield item

    async def aput(self, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self.put, *args, **kwargs)

    async def aput_writes(self, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self.put_writes, *args, **kwargs)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Any) -> None:
        await asyncio.to_thread(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source: str, target: str) -> None:
        await asyncio.to_thread(self.copy_thread, source, target)

    async def aprune(self, thread_ids: Any, *, strategy: str = "keep_latest") -> None:
        await asyncio.to_thread(lambda: self.prune(thread_ids, strategy=strategy))


async def run_conformance(make_backend: Callable[[str], Backend], face: str = "async", **saver_args: Any) -> Any:
    @checkpointer_test(name=f"agentstate-redis {face} {uuid.uuid4().hex[:6]}")
    async def factory() -> Any:
        backend = make_backend(f"lg{uuid.uuid4().hex[:10]}:")
        if face == "sync":
            saver = await asyncio.to_thread(SyncFace, backend=backend, **saver_args)
            yield saver
            await asyncio.to_thread(saver.call, backend.close())  # borrowed: closed on the saver's loop
            await asyncio.to_thread(saver.close)
        else:
            saver = AsyncCheckpointSaver(backend=backend, **saver_args)
            yield saver
            await backend.close()

    return await validate(factory)


def assert_full(report: Any) -> None:
    """All 58 base and all 23 extended tests passed."""
    failures = [f"{cap}: {f}" for cap, r in report.results.items() for f in r.failures]
    assert report.passed_all_base(), failures
    base = sum(report.results[c.value].tests_passed for c in BASE_CAPABILITIES)
    extended = sum(report.results[c.value].tests_passed for c in EXTENDED_CAPABILITIES)
    for cap in EXTENDED_CAPABILITIES:
        assert report.results[cap.value].passed is True, (cap.value, failures)
    assert (base, extended) == (BASE_TESTS, EXTENDED_TESTS), failures

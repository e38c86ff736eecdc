"""CheckpointSaver: the synchronous saver, for ``graph.invoke`` / ``graph.stream`` in plain code.

    >>> with CheckpointSaver.from_conn_string("redis://localhost:6379") as saver:
    ...     graph = builder.compile(checkpointer=saver)
    ...     graph.invoke({"n": 1}, {"configurable": {"thread_id": "t1"}})

It is the async saver run on an event loop of its own (a daemon thread), so both faces share one
implementation: each sync method submits the matching ``a*`` coroutine there and waits. Its own
``a*`` methods await the same submission, so an async graph can use it too. Pass ``loop=`` (a
running loop in another thread) to run on the loop where a shared backend already lives.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)

from .saver import AsyncCheckpointSaver

_DONE = object()
T = TypeVar("T")


class _LoopThread:
    """An event loop running in a daemon thread, or a given loop that already runs elsewhere."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.owned = loop is None
        self.loop = loop or asyncio.new_event_loop()
        self.thread: threading.Thread | None = None
        if self.owned:
            self.thread = threading.Thread(target=self.loop.run_forever, name="agentstate-langgraph", daemon=True)
            self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self.thread is not None and threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("CheckpointSaver called from its own event loop thread")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def acall(self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def stop(self) -> None:
        if self.owned and self.thread is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()
            self.thread = None


async def _next(items: AsyncIterator[Any]) -> Any:
    try:
        return await items.__anext__()
    except StopAsyncIteration:
        return _DONE


class CheckpointSaver(BaseCheckpointSaver[str]):
    """The synchronous saver (see the module docstring); takes AsyncCheckpointSaver's arguments."""

    def __init__(
        self, persistence: Any = None, *, loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any
    ) -> None:
        self._portal = _LoopThread(loop)
        try:
            self.inner = AsyncCheckpointSaver(persistence, **kwargs)
        except BaseException:
            self._portal.stop()
            raise
        self.inner.loop = self._portal.loop
        super().__init__(serde=self.inner.serde)

    @classmethod
    @contextmanager
    def from_conn_string(cls, conn_string: str, **kwargs: Any) -> Iterator[CheckpointSaver]:
        """``with CheckpointSaver.from_conn_string("redis://...") as saver: ...``"""
        saver = cls("redis", redis_url=conn_string, **kwargs)
        try:
            saver.setup()
            yield saver
        finally:
            saver.close()

    @property
    def store(self) -> Any:
        return self.inner.store

    def setup(self) -> None:
        """Connect (and so check the server is reachable). Creates nothing: there is no schema."""
        self._portal.call(self.inner.setup())

    def close(self) -> None:
        if self._portal.loop.is_closed():
            return
        try:
            self._portal.call(self.inner.aclose())
        finally:
            self._portal.stop()

    def __enter__(self) -> CheckpointSaver:
        self.setup()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def with_allowlist(self, extra_allowlist: Any) -> CheckpointSaver:
        clone = cast(CheckpointSaver, super().with_allowlist(extra_allowlist))  # a copy of self
        if clone is not self:
            clone.inner = copy.copy(self.inner)
            clone.inner.serde = clone.serde
        return clone

    def get_next_version(self, current: Any, channel: None = None) -> str:
        return self.inner.get_next_version(current, channel)

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the saver's event loop and return its result: the way to use, from sync
        code, a backend or manager this saver shares (its connections belong to that loop).

            >>> saver.call(store.backend.close())
        """
        return self._portal.call(coro)

    def release_lease(self, thread_id: str) -> None:
        self._portal.call(self.inner.arelease_lease(thread_id))

    # -- sync --------------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._portal.call(self.inner.aget_tuple(config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        items = self.inner.alist(config, filter=filter, before=before, limit=limit)
        try:
            while (item := self._portal.call(_next(items))) is not _DONE:
                yield item
        finally:
            if not self._portal.loop.is_closed():
                self._portal.call(items.aclose())

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self._portal.call(self.inner.aput(config, checkpoint, metadata, new_versions))

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        return self._portal.call(self.inner.aput_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        return self._portal.call(self.inner.adelete_thread(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        return self._portal.call(self.inner.adelete_for_runs(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        return self._portal.call(self.inner.acopy_thread(source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        return self._portal.call(self.inner.aprune(thread_ids, strategy=strategy))

    # -- async, on the saver's own loop ------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._portal.acall(self.inner.aget_tuple(config))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        items = self.inner.alist(config, filter=filter, before=before, limit=limit)
        try:
            while (item := await self._portal.acall(_next(items))) is not _DONE:
                yield item
        finally:
            await self._portal.acall(items.aclose())

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._portal.acall(self.inner.aput(config, checkpoint, metadata, new_versions))

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        return await self._portal.acall(self.inner.aput_writes(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        return await self._portal.acall(self.inner.adelete_thread(thread_id))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        return await self._portal.acall(self.inner.adelete_for_runs(run_ids))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        return await self._portal.acall(self.inner.acopy_thread(source_thread_id, target_thread_id))

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        return await self._portal.acall(self.inner.aprune(thread_ids, strategy=strategy))

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
import functools
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from langgraph.checkpoint.base import (
    CheckpointTuple,
)

from .saver import AsyncCheckpointSaver
from .sync_faces import SyncFaces

_DONE = object()
T = TypeVar("T")
P = ParamSpec("P")


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


def _on_loop(
    method: Callable[Concatenate[AsyncCheckpointSaver, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[CheckpointSaver, P], Coroutine[Any, Any, T]]:
    """A CheckpointSaver ``a*`` method: the inner saver's ``method``, awaited on the saver's loop.

    ``aput = _on_loop(AsyncCheckpointSaver.aput)``
    """

    @functools.wraps(method)
    async def on_loop(self: CheckpointSaver, /, *args: P.args, **kwargs: P.kwargs) -> T:
        inner_method: Callable[P, Coroutine[Any, Any, T]] = getattr(self.inner, method.__name__)
        return await self._portal.acall(inner_method(*args, **kwargs))

    return on_loop


def _streamed_on_loop(
    method: Callable[Concatenate[AsyncCheckpointSaver, P], AsyncGenerator[T, None]],
) -> Callable[Concatenate[CheckpointSaver, P], AsyncGenerator[T, None]]:
    """As :func:`_on_loop` for an async generator: each item is fetched on the saver's loop.

    ``alist = _streamed_on_loop(AsyncCheckpointSaver.alist)``
    """

    @functools.wraps(method)
    async def streamed(self: CheckpointSaver, /, *args: P.args, **kwargs: P.kwargs) -> AsyncGenerator[T, None]:
        items: AsyncGenerator[T, None] = getattr(self.inner, method.__name__)(*args, **kwargs)
        try:
            while (item := await self._portal.acall(_next(items))) is not _DONE:
                yield item
        finally:
            await self._portal.acall(items.aclose())

    return streamed


class CheckpointSaver(SyncFaces):
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

    # -- sync (the methods are SyncFaces') ---------------------------------------------------

    def _async_face(self) -> AsyncCheckpointSaver:
        return self.inner

    def _wait(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._portal.call(coro)

    def _iterate(self, items: AsyncGenerator[CheckpointTuple, None]) -> Iterator[CheckpointTuple]:
        try:
            while (item := self._portal.call(_next(items))) is not _DONE:
                yield item
        finally:
            if not self._portal.loop.is_closed():
                self._portal.call(items.aclose())

    # -- async, on the saver's own loop ------------------------------------------------------

    aget_tuple = _on_loop(AsyncCheckpointSaver.aget_tuple)
    alist = _streamed_on_loop(AsyncCheckpointSaver.alist)
    aput = _on_loop(AsyncCheckpointSaver.aput)
    aput_writes = _on_loop(AsyncCheckpointSaver.aput_writes)
    adelete_thread = _on_loop(AsyncCheckpointSaver.adelete_thread)
    adelete_for_runs = _on_loop(AsyncCheckpointSaver.adelete_for_runs)
    acopy_thread = _on_loop(AsyncCheckpointSaver.acopy_thread)
    aprune = _on_loop(AsyncCheckpointSaver.aprune)

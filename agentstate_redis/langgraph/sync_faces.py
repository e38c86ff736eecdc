"""SyncFaces: LangGraph's sync checkpointer methods, written once for both savers.

    >>> class AsyncCheckpointSaver(SyncFaces):
    ...     def _async_face(self) -> AsyncCheckpointSaver:
    ...         return self                              # its own a* methods
    ...     def _wait(self, coro):
    ...         return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

Each sync method (``put``, ``get_tuple``, ``list``, ...) builds the coroutine of its ``a*`` twin on
``_async_face()`` and waits for it with ``_wait``; ``list`` hands the async iterator to
``_iterate``. AsyncCheckpointSaver runs its own ``a*`` methods on the loop it was made on;
CheckpointSaver runs its inner async saver's on its loop thread.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Coroutine, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)

if TYPE_CHECKING:
    from .saver import AsyncCheckpointSaver

T = TypeVar("T")


class SyncFaces(BaseCheckpointSaver[str]):
    """The sync half of BaseCheckpointSaver, each method waiting for its ``a*`` twin (see the module docstring)."""

    def _async_face(self) -> AsyncCheckpointSaver:
        """The saver whose ``a*`` methods the sync methods run."""
        raise NotImplementedError

    def _wait(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` to its end from sync code and return its result."""
        raise NotImplementedError

    def _iterate(self, items: AsyncGenerator[CheckpointTuple, None]) -> Iterator[CheckpointTuple]:
        """``list``'s items, from ``alist``'s async iterator."""
        raise NotImplementedError

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._wait(self._async_face().aget_tuple(config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        return self._iterate(self._async_face().alist(config, filter=filter, before=before, limit=limit))

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self._wait(self._async_face().aput(config, checkpoint, metadata, new_versions))

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        return self._wait(self._async_face().aput_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        return self._wait(self._async_face().adelete_thread(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        return self._wait(self._async_face().adelete_for_runs(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        return self._wait(self._async_face().acopy_thread(source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        return self._wait(self._async_face().aprune(thread_ids, strategy=strategy))


__all__ = ["SyncFaces"]

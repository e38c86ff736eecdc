"""AsyncCheckpointSaver: LangGraph's checkpointer protocol on plain Redis, Valkey or Redis Cluster.

    >>> async with AsyncCheckpointSaver.from_conn_string("redis://localhost:6379") as saver:
    ...     graph = builder.compile(checkpointer=saver)
    ...     await graph.ainvoke({"n": 1}, {"configurable": {"thread_id": "t1"}})
    >>> saver = AsyncCheckpointSaver(state_manager=agent_store, ttl={"default_ttl": 60})  # share a connection

Every operation is one Lua script on the thread's keys (see store.py); no module commands, no KEYS,
no SCAN. Values go through LangGraph's serializer, never pickle (serde.py). With ``lease=`` seconds,
the saver takes each thread's writer lease before its first write and every write carries the
fencing token: a writer whose lease was taken over gets LeaseError instead of corrupting the thread.
The sync methods (for ``graph.invoke``) run the async ones on the loop the saver was made on,
from another thread, as LangGraph's AsyncPostgresSaver does; ``CheckpointSaver`` is the sync saver.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from ..errors import InvalidInputError, LeaseError
from ..validate import milliseconds, name
from . import serde as payloads
from .store import CheckpointStore, ttl_ms
from .sync_faces import SyncFaces
from .wire import SEP, StoredCheckpoint, blob_channel, blob_field, nsid, text

LIST_PAGE = 100  # checkpoints per list page (whole tuples)
TOKENS_KEPT = 10_000  # fencing tokens remembered per saver (re-acquiring a held lease returns the same token)
FILTER_PAGE = 500  # metadata per page when list() filters
T = TypeVar("T")


class AsyncCheckpointSaver(SyncFaces):
    """LangGraph checkpointer on agentstate-redis (see the module docstring).

    Args:
        persistence: "redis" | "memory" | "file" or a Backend, as every manager takes it.
        store: an existing CheckpointStore to use.
        backend / state_manager: share the connection of a backend or of any manager of ours.
        serde: a LangGraph serializer (default JsonPlusSerializer(pickle_fallback=False)).
        ttl: ``{"default_ttl": minutes, "refresh_on_read": bool}``.
        lease: seconds of the thread writer lease to take before writing (None = no lease).
        owner: the lease owner's name (default: host and pid).
        **settings: StateConfig fields (``redis_url=``, ``key_prefix=``, ...).
    """

    def __init__(
        self,
        persistence: Any = None,
        *,
        store: CheckpointStore | None = None,
        serde: Any = None,
        ttl: dict[str, Any] | None = None,
        lease: float | None = None,
        owner: str | None = None,
        **settings: Any,
    ) -> None:
        serde = serde if serde is not None else JsonPlusSerializer(pickle_fallback=False)
        payloads.check_serializer(serde)
        super().__init__(serde=serde)
        self.ttl_ms, self.refresh_on_read = ttl_ms(ttl)
        self.lease_ms = 0 if lease is None else milliseconds("lease", lease)
        self.owner = name("owner", owner) if owner is not None else f"{os.uname().nodename}:{os.getpid()}"
        if store is None:
            store = CheckpointStore(persistence, ttl_ms=self.ttl_ms, lease_ms=self.lease_ms, **settings)
        elif settings or persistence is not None:
            raise InvalidInputError("pass either store= or backend settings, not both")
        else:
            store.ttl_ms, store.lease_ms = self.ttl_ms, self.lease_ms
        self.store = store
        self._tokens: dict[str, int] = {}
        try:
            self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None

    @classmethod
    @asynccontextmanager
    async def from_conn_string(cls, conn_string: str, **kwargs: Any) -> AsyncIterator[AsyncCheckpointSaver]:
        """``async with AsyncCheckpointSaver.from_conn_string("redis://...") as saver: ...``"""
        saver = cls("redis", redis_url=conn_string, **kwargs)
        try:
            await saver.setup()
            yield saver
        finally:
            await saver.aclose()

    async def setup(self) -> None:
        """Connect (and so check the server is reachable). Creates nothing: there is no schema."""
        self._bind_loop()
        await self.store.connect()

    async def aclose(self) -> None:
        await self.store.close()

    async def __aenter__(self) -> AsyncCheckpointSaver:
        await self.setup()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _bind_loop(self) -> None:
        if self.loop is None:
            self.loop = asyncio.get_running_loop()

    # -- config ------------------------------------------------------------------------------

    @staticmethod
    def _thread(config: RunnableConfig) -> str:
        value = _configurable(config).get("thread_id")
        if value is None:
            raise InvalidInputError("config needs configurable.thread_id")
        return text("thread_id", value, empty=False)

    @staticmethod
    def _ns(config: RunnableConfig) -> str:
        return text("checkpoint_ns", _configurable(config).get("checkpoint_ns") or "")

    async def _token(self, thread_id: str) -> int | None:
        if not self.lease_ms:
            return None
        token = self._tokens.get(thread_id)
        if token is None:
            token = await self.store.acquire_lease(thread_id, self.owner, self.lease_ms)
            if len(self._tokens) >= TOKENS_KEPT:
                self._tokens.pop(next(iter(self._tokens)))
            self._tokens[thread_id] = token
        return token

    async def _guarded(self, thread_id: str, call: Any) -> Any:
        """Run ``call(token)`` with the thread's fencing token; a refused token is forgotten."""
        token = await self._token(thread_id)
        try:
            return await call(token)
        except LeaseError:
            if token is not None and self._tokens.get(thread_id) == token:
                del self._tokens[thread_id]
            raise

    async def arelease_lease(self, thread_id: str) -> None:
        """Give up this saver's writer lease on ``thread_id`` (if it holds one)."""
        token = self._tokens.pop(text("thread_id", thread_id, empty=False), None)
        if token is not None:
            await self.store.release_lease(thread_id, token)

    # -- the protocol: writes ----------------------------------------------------------------

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        self._bind_loop()
        thread_id, ns = self._thread(config), self._ns(config)
        checkpoint_id = text("checkpoint id", checkpoint["id"], empty=False)
        parent_id = text("parent checkpoint_id", _configurable(config).get("checkpoint_id") or "")
        stored: dict[str, Any] = dict(checkpoint)
        values = stored.pop("channel_values", None) or {}
        blobs, refs = [], set()
        for channel, version in new_versions.items():
            field = blob_field(ns, text("channel", channel, empty=False), version)
            value = (
                payloads.dump(self.serde, values[channel], f"channel {channel!r}")
                if channel in values
                else payloads.EMPTY
            )
            blobs.append((field, value))
            refs.add(field)
        for channel, version in stored.get("channel_versions", {}).items():
            refs.add(blob_field(ns, text("channel", channel, empty=False), version))
        meta = get_checkpoint_metadata(config, metadata)
        run_id = meta.get("run_id")
        run_id = text("run_id", run_id) if run_id is not None else ""
        body = payloads.dump(self.serde, stored, "checkpoint")
        meta_body = payloads.dump(self.serde, meta, "metadata")
        await self._guarded(
            thread_id,
            lambda token: self.store.put(
                thread_id,
                ns,
                checkpoint_id,
                parent_id=parent_id,
                run_id=run_id,
                checkpoint=body,
                metadata=meta_body,
                refs=sorted(refs),
                blobs=blobs,
                token=token,
            ),
        )
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}}

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self._bind_loop()
        thread_id, ns = self._thread(config), self._ns(config)
        checkpoint_id = text("checkpoint_id", _configurable(config).get("checkpoint_id"), empty=False)
        task_id, task_path = text("task_id", task_id, empty=False), text("task_path", task_path)
        rows = []
        for idx, (channel, value) in enumerate(writes):
            channel = text("channel", channel, empty=False)
            rows.append(
                (WRITES_IDX_MAP.get(channel, idx), channel, payloads.dump(self.serde, value, f"write to {channel!r}"))
            )
        if rows:
            await self._guarded(
                thread_id,
                lambda token: self.store.put_writes(
                    thread_id, ns, checkpoint_id, task_id, task_path, rows, token=token
                ),
            )

    async def adelete_thread(self, thread_id: str) -> None:
        self._bind_loop()
        thread_id = text("thread_id", thread_id, empty=False)
        await self._guarded(thread_id, lambda token: self.store.delete(thread_id, token))
        self._tokens.pop(thread_id, None)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._bind_loop()
        runs = [text("run_id", r, empty=False) for r in _list("run_ids", run_ids)]
        by_thread: dict[str, list[str]] = {}
        for run_id, threads in zip(runs, await asyncio.gather(*(self.store.run_threads(r) for r in runs))):
            for thread_id in threads:
                by_thread.setdefault(thread_id, []).append(run_id)
        for thread_id, thread_runs in by_thread.items():
            await self._guarded(
                thread_id, lambda token, t=thread_id, r=thread_runs: self.store.delete_runs(t, r, token)
            )

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._bind_loop()
        source = text("source_thread_id", source_thread_id, empty=False)
        target = text("target_thread_id", target_thread_id, empty=False)
        await self._guarded(target, lambda token: self.store.copy(source, target, token))

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest``: only the newest checkpoint of each namespace stays (with its writes and
        the blobs it reads); ``delete``: the threads go entirely, as delete_thread."""
        self._bind_loop()
        if strategy not in ("keep_latest", "delete"):
            raise InvalidInputError(f"prune strategy must be 'keep_latest' or 'delete', got {strategy!r}")
        for thread_id in [text("thread_id", t, empty=False) for t in _list("thread_ids", thread_ids)]:
            if strategy == "delete":
                await self.adelete_thread(thread_id)
            else:
                await self._guarded(thread_id, lambda token, t=thread_id: self.store.keep_latest(t, token))

    # -- the protocol: reads -----------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        self._bind_loop()
        thread_id, ns = self._thread(config), self._ns(config)
        checkpoint_id = text("checkpoint_id", get_checkpoint_id(config) or "")
        found = await self.store.get(thread_id, ns, checkpoint_id)
        if found is None:
            return None
        if self.refresh_on_read:
            await self.store.touch(thread_id)
        return self._tuple(thread_id, found)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncGenerator[CheckpointTuple, None]:
        """Checkpoints newest first (by checkpoint id) within a thread; without a thread id, thread
        after thread as the registry lists them. ``filter`` keeps those whose metadata has each
        key equal to the given value, as LangGraph's savers do."""
        self._bind_loop()
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise InvalidInputError(f"limit must be an integer, got {limit!r}")
        if filter is not None and not isinstance(filter, dict):
            raise InvalidInputError(f"filter must be a dict, got {type(filter).__name__}")
        before_id = text("before checkpoint_id", get_checkpoint_id(before) or "") if before else ""
        left = limit if limit is not None else -1
        if left == 0:
            return
        configurable = _configurable(config) if config is not None else {}
        if configurable.get("thread_id") is not None:
            # config is not None here: its configurable has a thread_id
            threads: AsyncIterator[str] = _one(self._thread(config))  # type: ignore[arg-type]
        else:
            threads = self.store.threads()
        ns = configurable.get("checkpoint_ns")
        ns = text("checkpoint_ns", ns) if ns is not None else None
        only_id = text("checkpoint_id", configurable.get("checkpoint_id") or "")
        async for thread_id in threads:
            touched = False
            async for found in self._thread_list(thread_id, ns, only_id, before_id, filter, left):
                if self.refresh_on_read and not touched:
                    await self.store.touch(thread_id)
                    touched = True
                yield self._tuple(thread_id, found)
                left -= 1
                if left == 0:
                    return

    async def _thread_list(
        self,
        thread_id: str,
        ns: str | None,
        only_id: str,
        before_id: str,
        filter: dict[str, Any] | None,
        left: int,
    ) -> AsyncIterator[StoredCheckpoint]:
        if only_id:
            if before_id and only_id >= before_id:
                return
            spaces = [ns] if ns is not None else None
            found = (
                [f for f in await self.store.tuples(thread_id, [nsid(n, only_id) for n in spaces])]
                if spaces is not None
                else await self._by_id(thread_id, only_id)
            )
            for item in found:
                if self._matches(item.metadata, filter):
                    yield item
            return
        by_id = ns is None
        if ns is None:
            low, high = "-", ("(" + before_id) if before_id else "+"
        else:
            low = "[" + ns + SEP
            high = "(" + nsid(ns, before_id) if before_id else "(" + ns + "\x01"
        while True:
            if filter:
                last, pairs = await self.store.page(thread_id, by_id, low, high, FILTER_PAGE, full=False)
                wanted = [key for key, meta in pairs if self._matches(meta, filter)]
                if left > 0:
                    wanted = wanted[:left]
                for item in await self.store.tuples(thread_id, wanted):
                    yield item
                size = FILTER_PAGE
                scanned = len(pairs)
            else:
                size = LIST_PAGE if left < 0 else min(left, LIST_PAGE)
                last, items = await self.store.page(thread_id, by_id, low, high, size, full=True)
                for item in items:
                    yield item
                scanned = len(items)
            if not last or scanned < size:
                return
            high = "(" + last

    async def _by_id(self, thread_id: str, checkpoint_id: str) -> list[StoredCheckpoint]:
        _, items = await self.store.page(
            thread_id, True, "[" + checkpoint_id + SEP, "(" + checkpoint_id + "\x01", LIST_PAGE, full=True
        )
        return items

    def _matches(self, metadata: str, filter: dict[str, Any] | None) -> bool:
        if not filter:
            return True
        meta = payloads.load(self.serde, metadata, "metadata")
        return all(meta.get(key) == value for key, value in filter.items())

    def _tuple(self, thread_id: str, found: StoredCheckpoint) -> CheckpointTuple:
        checkpoint = payloads.load(self.serde, found.checkpoint, "checkpoint")
        versions = {k: str(v) for k, v in checkpoint.get("channel_versions", {}).items()}
        values = {}
        for field, payload in found.blobs:
            channel, version = blob_channel(field)
            if versions.get(channel) == version and not payloads.is_empty(payload):
                values[channel] = payloads.load(self.serde, payload, f"channel {channel!r}")
        checkpoint["channel_values"] = values
        config: RunnableConfig = {
            "configurable": {"thread_id": thread_id, "checkpoint_ns": found.ns, "checkpoint_id": found.checkpoint_id}
        }
        parent: RunnableConfig | None = None
        if found.parent_id:
            parent = {
                "configurable": {"thread_id": thread_id, "checkpoint_ns": found.ns, "checkpoint_id": found.parent_id}
            }
        writes = [
            (w.task_id, w.channel, payloads.load(self.serde, w.payload, f"write to {w.channel!r}"))
            for w in found.writes
        ]
        return CheckpointTuple(
            config=config,
            checkpoint=checkpoint,
            metadata=payloads.load(self.serde, found.metadata, "metadata"),
            parent_config=parent,
            pending_writes=writes,
        )

    def get_next_version(self, current: str | int | float | None, channel: None = None) -> str:
        """``'<32-digit counter>.<random>'``: increasing as strings, as LangGraph's own savers make them."""
        if current is None:
            current_v = 0
        elif isinstance(current, (int, float)):
            current_v = int(current)
        else:
            current_v = int(str(current).split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"

    # -- sync faces (from another thread than the saver's loop; the methods are SyncFaces') ----

    def _async_face(self) -> AsyncCheckpointSaver:
        return self

    def _wait(self, coro: Coroutine[Any, Any, T]) -> T:
        if self.loop is None:
            coro.close()
            raise asyncio.InvalidStateError(
                "AsyncCheckpointSaver has no event loop yet: use it in async code first, or use CheckpointSaver"
            )
        try:
            if asyncio.get_running_loop() is self.loop:
                coro.close()
                raise asyncio.InvalidStateError(
                    "sync calls to AsyncCheckpointSaver are only allowed from another thread than its event "
                    "loop's; from async code use the a* methods (ainvoke, aget_tuple, ...)"
                )
        except RuntimeError:
            pass
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def _iterate(self, items: AsyncGenerator[CheckpointTuple, None]) -> Iterator[CheckpointTuple]:
        return iter(self._wait(_collect(items)))


def _configurable(config: Any) -> dict[str, Any]:
    configurable = config.get("configurable") if isinstance(config, dict) else None
    if not isinstance(configurable, dict):
        raise InvalidInputError(f"config must be a dict with a 'configurable' dict, got {config!r:.100}")
    return configurable


async def _one(value: str) -> AsyncIterator[str]:
    yield value


async def _collect(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


def _list(what: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise InvalidInputError(f"{what} must be a list, got {type(values).__name__}")
    return list(values)


__all__ = ["AsyncCheckpointSaver"]

"""CheckpointStore: the LangGraph threads in Redis, one Lua script per operation.

    >>> store = CheckpointStore(persistence="redis", redis_url="redis://localhost:6379", ttl_ms=3_600_000)
    >>> await store.put("thread-1", "", "1ef...", parent_id="", run_id="run-1", checkpoint="msgpack:...",
    ...                 metadata="msgpack:...", refs=[...], blobs=[(field, payload), ...])
    >>> await store.get("thread-1", "", "")            # the newest checkpoint of the root namespace

Every key of a thread shares the hash tag ``{lgthread:<thread id>}`` and every lgthread script takes
the same 13 KEYS (:data:`SUBKEYS`, mirrored by the ``K`` table of ``lua/lib/lgthread.lua``), so each
operation is atomic and runs unchanged on Redis Cluster. Payloads are opaque strings (see serde.py).

Two cross-thread indexes, each under its own hash tag and updated by its own script call
(``lua/lgindex/``): the thread registry ``keys.index("lgthreads")`` (listing without a thread id)
and one index per run, ``keys.index("lgrun:<run id>")`` (delete_for_runs). Members carry a deadline
so they expire with the thread's keys. A thread script says what the indexes lack; the store tells
them and then records it in the thread (``index_confirm``), so a crash in between is repaired by
the thread's next write. Reads never SCAN the keyspace.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ..errors import InvalidInputError
from ..keys import validate_id
from ..manager import BaseManager
from ..validate import milliseconds, positive_number
from .wire import LIST, IndexNeeds, StoredCheckpoint, parse_tuples

#: Sub-keys of ``{lgthread:<id>}`` after the base (meta), ops and ops_prev keys, in KEYS order.
SUBKEYS = ("lease", "ck", "order", "ids", "blobs", "refs", "writes", "wx", "runs", "ix")
THREADS_INDEX = "lgthreads"
INDEX_PAGE = 500


def _token(token: int | None) -> str:
    return "" if token is None else str(token)


class CheckpointStore(BaseManager):
    """The storage of AsyncCheckpointSaver / CheckpointSaver (see the module docstring).

    ``ttl_ms`` (0 = none) is given to every key of a thread on each write; ``lease_ms`` is how long
    a write made with a fencing token extends that token's lease (0 = not at all).
    """

    kind = "lgthread"

    def __init__(self, persistence: Any = None, *, ttl_ms: int = 0, lease_ms: int = 0, **settings: Any) -> None:
        super().__init__(persistence, **settings)
        self.ttl_ms = int(ttl_ms)
        self.lease_ms = int(lease_ms)

    # -- keys --------------------------------------------------------------------------------

    def thread_keys(self, thread_id: str) -> list[str]:
        validate_id("lgthread", thread_id, what="thread_id")
        k = self.keys.entity("lgthread", thread_id)
        return [k.base, k.ops, k.ops_prev, *(k(name) for name in SUBKEYS)]

    def _index_key(self, name: str) -> list[str]:
        return [self.keys.index(name).base]

    def _run_index(self, run_id: str) -> list[str]:
        return self._index_key("lgrun:" + run_id)

    # its own head (thread id, fencing token) beside the spine's BaseManager._write: the saver's layout
    async def _write(  # type: ignore[override]
        self, script: str, thread_id: str, token: int | None, *args: Any
    ) -> Any:
        head = [self._op_id(), self.backend.channel("lgthread", thread_id), thread_id, _token(token)]
        return await self.backend.run(f"lgthread/{script}", self.thread_keys(thread_id), [*head, *args])

    async def _read(self, script: str, thread_id: str, *args: Any) -> Any:
        return await self.backend.run(f"lgthread/{script}", self.thread_keys(thread_id), list(args))

    # -- writes ------------------------------------------------------------------------------

    async def put(
        self,
        thread_id: str,
        ns: str,
        checkpoint_id: str,
        *,
        parent_id: str,
        run_id: str,
        checkpoint: str,
        metadata: str,
        refs: Sequence[str],
        blobs: Sequence[tuple[str, str]],
        token: int | None = None,
    ) -> None:
        flat = [x for pair in blobs for x in pair]
        reply = await self._write(
            "put",
            thread_id,
            token,
            ns,
            checkpoint_id,
            parent_id,
            run_id,
            checkpoint,
            metadata,
            LIST.join(refs),
            self.ttl_ms,
            self.lease_ms,
            *flat,
        )
        await self._tell_indexes(thread_id, reply)

    async def put_writes(
        self,
        thread_id: str,
        ns: str,
        checkpoint_id: str,
        task_id: str,
        task_path: str,
        writes: Sequence[tuple[int, str, str]],
        token: int | None = None,
    ) -> None:
        flat = [x for triple in writes for x in triple]
        reply = await self._write(
            "put_writes", thread_id, token, ns, checkpoint_id, task_id, task_path, self.ttl_ms, self.lease_ms, *flat
        )
        await self._tell_indexes(thread_id, reply)

    async def touch(self, thread_id: str) -> None:
        """Restart the TTL of every key of the thread (no-op without a TTL)."""
        if self.ttl_ms:
            await self._tell_indexes(thread_id, await self._write("touch", thread_id, None, self.ttl_ms))

    async def delete(self, thread_id: str, token: int | None = None) -> None:
        """Delete everything of the thread, then its entries in the indexes."""
        runs = await self._write("delete", thread_id, token)
        drops = [self.backend.run("lgindex/drop", self._index_key(THREADS_INDEX), [thread_id])]
        drops += [self.backend.run("lgindex/drop", self._run_index(r), [thread_id]) for r in runs.split(LIST) if r]
        await asyncio.gather(*drops)

    async def delete_runs(self, thread_id: str, run_ids: Sequence[str], token: int | None = None) -> int:
        """Delete the thread's checkpoints made by ``run_ids``; returns how many went."""
        n = int(await self._write("delete_runs", thread_id, token, *run_ids))
        await asyncio.gather(*(self.backend.run("lgindex/drop", self._run_index(r), [thread_id]) for r in run_ids))
        return n

    async def keep_latest(self, thread_id: str, token: int | None = None) -> int:
        return int(await self._write("keep_latest", thread_id, token))

    async def copy(self, source: str, target: str, token: int | None = None) -> int:
        """Add ``source``'s checkpoints (with blobs and writes) to ``target``; returns how many were read.

        Two scripts (the threads have different hash tags): one consistent read of the source,
        then one atomic write of the target.
        """
        ck, blobs, writes = await self._read("export", source)
        fields = dict(zip(ck[0::2], ck[1::2]))
        items: list[str] = []
        n = 0
        for name, value in fields.items():
            if name[0] != "c":
                continue
            key = name[1:]
            items += [
                key,
                value,
                fields.get("m" + key, ""),
                fields.get("p" + key, ""),
                fields.get("b" + key, ""),
                fields.get("r" + key, ""),
            ]
            n += 1
        reply = await self._write(
            "import", target, token, self.ttl_ms, self.lease_ms, n, *items, len(blobs) // 2, *blobs, *writes
        )
        await self._tell_indexes(target, reply)
        return n

    async def acquire_lease(self, thread_id: str, owner: str, ttl_ms: int) -> int:
        return int(await self._write("lease_acquire", thread_id, None, owner, ttl_ms, self.ttl_ms))

    async def release_lease(self, thread_id: str, token: int) -> None:
        await self._write("lease_release", thread_id, token)

    # -- reads -------------------------------------------------------------------------------

    async def get(self, thread_id: str, ns: str, checkpoint_id: str) -> StoredCheckpoint | None:
        """The checkpoint ``checkpoint_id`` of namespace ``ns`` ('' = the newest there), or None."""
        found = parse_tuples(await self._read("get", thread_id, ns, checkpoint_id))
        return found[0] if found else None

    async def page(
        self, thread_id: str, by_id: bool, low: str, high: str, size: int, full: bool
    ) -> tuple[str, list[Any]]:
        """One page of the thread's checkpoints, newest first, between two ZRANGEBYLEX bounds.

        Returns the last member scanned (the next page's exclusive ``high``; '' at the end) and the
        StoredCheckpoints (``full``) or (``<ns>\\0<id>``, metadata payload) pairs.
        """
        reply = await self._read("list", thread_id, "ids" if by_id else "order", low, high, size, full)
        last = reply[0]
        if full:
            return last, parse_tuples(reply, 1)
        return last, [(reply[i], reply[i + 1]) for i in range(1, len(reply), 2)]

    async def tuples(self, thread_id: str, nsids: Sequence[str]) -> list[StoredCheckpoint]:
        return parse_tuples(await self._read("tuples", thread_id, *nsids)) if nsids else []

    async def threads(self) -> AsyncIterator[str]:
        """Every thread id the registry lists (those whose keys have not expired)."""
        async for thread_id in self._index_members(self._index_key(THREADS_INDEX)):
            yield thread_id

    async def run_threads(self, run_id: str) -> list[str]:
        """The threads holding checkpoints of ``run_id``."""
        return [t async for t in self._index_members(self._run_index(run_id))]

    async def _index_members(self, keys: list[str]) -> AsyncIterator[str]:
        offset = 0
        while True:
            page = await self.backend.run("lgindex/page", keys, [offset, INDEX_PAGE])
            for member in page:
                yield member
            if len(page) < INDEX_PAGE:
                return
            offset += len(page)

    # -- indexes -----------------------------------------------------------------------------

    async def _tell_indexes(self, thread_id: str, reply: Any) -> None:
        needs = IndexNeeds.parse(reply)
        if needs is None:
            return
        adds = []
        for name in needs.fields:
            keys = self._index_key(THREADS_INDEX) if name == "t" else self._run_index(name[1:])
            adds.append(self.backend.run("lgindex/add", keys, [thread_id, needs.deadline]))
        await asyncio.gather(*adds)
        await self._write("index_confirm", thread_id, None, needs.deadline, *needs.fields)


def ttl_ms(ttl: Any) -> tuple[int, bool]:
    """LangGraph's ``ttl={"default_ttl": minutes, "refresh_on_read": bool}`` -> (ms or 0, refresh)."""
    if ttl is None:
        return 0, False
    if not isinstance(ttl, dict):
        raise InvalidInputError(f"ttl must be a dict like {{'default_ttl': 60, 'refresh_on_read': True}}, got {ttl!r}")
    unknown = set(ttl) - {"default_ttl", "refresh_on_read"}
    if unknown:
        raise InvalidInputError(f"unknown ttl settings {sorted(unknown)}; use default_ttl and refresh_on_read")
    refresh = ttl.get("refresh_on_read", False)
    if not isinstance(refresh, bool):
        raise InvalidInputError(f"ttl refresh_on_read must be a bool, got {refresh!r}")
    minutes = ttl.get("default_ttl")
    if minutes is None:
        return 0, refresh
    return milliseconds("ttl default_ttl", positive_number("ttl default_ttl (minutes)", minutes) * 60), refresh

"""The tool result cache: entries keyed by the parameters' canonical hash, expiring by Redis TTL.

    >>> await tools.cache_result(ToolCacheEntry(tool_name="search_web", parameters={"query": "AI news"},
    ...                                         result={"results": [1, 2]}, ttl=3600))
    >>> cached = await tools.get_cached_result(tool_name="search_web", parameters={"query": "AI news"})
    >>> cached.result
    {'results': [1, 2]}
    >>> await tools.get_or_compute("search_web", {"query": "AI news"}, lambda: search("AI news"))

Each entry lives under its tool's hash tag, ``{tool:<name>}:cache:<hash>`` (its
compute lock at ``{tool:<name>}:cachelock:<hash>``), next to the tool's stats. So
a lookup is one script (``tools/cache_get``) that reads the entry and counts the
hit or miss: one round trip, also on Redis Cluster (``count=False`` runs the
read-only ``tools/cache_peek``). An entry's TTL expiry still reaches subscribers
as an ``expired`` event of kind ``toolcache``, id ``<tool>:<hash>`` (see
:meth:`CacheMixin.subscribe_cache` and ``Keys.parse_expired``). All of a tool's
entries share one cluster slot.

Stampede protection: :meth:`get_or_compute` takes a short lock (TTL
``lock_timeout``) next to a missing entry; one caller computes, the others
poll the entry until it appears, and take over if the lock expires (a crashed
computer blocks the others at most ``lock_timeout`` seconds).

Over ``maxmemory`` lookups still run (hits are served); storing a new entry is
refused (BackendOutOfMemoryError from ``cache_result``), and ``get_or_compute``
then returns the computed result uncached.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import validate
from ..codec import loads
from ..decode import pairs, server_time
from ..errors import BackendOutOfMemoryError, InvalidInputError
from ..events import Callback, GapCallback
from ..keys import MAX_ID_LENGTH, EntityKeys, escape_glob, escape_id, validate_id
from ..manager import BaseManager
from ..subscription import DEFAULT_MAX_PENDING, Subscription
from .models import ToolCacheEntry
from .params_hash import hash_parameters

log = logging.getLogger("agentstate_redis.tools")

POLL_START = 0.01
POLL_MAX = 0.2


@dataclass(frozen=True)
class CacheKeys:
    """The keys of one cache entry, all under its tool's hash tag (the scripts build the same from
    the TOOL layout's prefixes and the escaped hash; see ``tests/tools``)."""

    tool: EntityKeys  # ``{tool:<name>}``: stats, ops
    base: str  # the entry hash
    lock: str  # get_or_compute's compute lock
    ident: str  # ``<tool>:<hash>``, the id its events carry


class CacheMixin(BaseManager):
    """Result caching methods of ToolStateManager (its layout is ``TOOL``: every cache script takes
    the tool's KEYS and the entry's escaped parameters hash in ARGV)."""

    cache_results: bool
    cache_ttl: float

    parameters_hash = staticmethod(hash_parameters)

    def _cache_keys(self, tool_name: str, params_hash: str) -> CacheKeys:
        """The entry's keys by name (for a reader and the tests; the calls send ``_entry_part``)."""
        self._entry_part(tool_name, params_hash)
        entry, lock = self.keys.tool_cache(tool_name, params_hash)
        return CacheKeys(self.keys.tool(tool_name), entry, lock, f"{tool_name}:{params_hash}")

    def _entry_part(self, tool_name: str, params_hash: str) -> str:
        """Check a tool name and a parameters hash (each an id, and ``<tool>:<hash>`` too: the id of
        the entry's events) and return the hash as it appears in the entry's keys (escaped).

        The hot path of every lookup: the tool's KEYS are built once (``_entity_keys``), and the
        joined id can only be too long when both parts are valid, so it is only checked whole then.
        """
        self._entity_keys(tool_name)
        validate_id("toolcache", params_hash, what="parameters_hash")
        if len(tool_name) + 1 + len(params_hash) > MAX_ID_LENGTH:
            validate_id("toolcache", f"{tool_name}:{params_hash}", what="'<tool_name>:<parameters_hash>'")
        return escape_id(params_hash)

    @staticmethod
    def _hash_of(parameters: Mapping[str, Any] | None, parameters_hash: str | None) -> str:
        if parameters is not None:
            return hash_parameters(parameters)
        if parameters_hash is not None:
            return parameters_hash
        raise InvalidInputError("give parameters or parameters_hash")

    def _entry_channel(self, tool_name: str, params_hash: str) -> str:
        """The channel of an entry's own events (kind ``toolcache``, id ``<tool>:<hash>``)."""
        return self.backend.channel("toolcache", f"{tool_name}:{params_hash}")

    async def _store(
        self, tool_name: str, params_hash: str, encoded: str, ttl: float | None, token: str, misses: int
    ) -> str:
        part = self._entry_part(tool_name, params_hash)
        return str(
            await self._write(
                "cache_set",
                tool_name,
                part,
                params_hash,
                self._entry_channel(tool_name, params_hash),
                encoded,
                self.backend.ttl_ms(self.cache_ttl if ttl is None else ttl),
                token,
                misses,
            )
        )

    async def cache_result(self, entry: ToolCacheEntry) -> ToolCacheEntry | None:
        """Store a result for ``entry.ttl`` seconds (default ``cache_ttl``); returns it as stored.

        Returns None without storing when the manager was made with ``cache_results=False``.

            >>> await tools.cache_result(ToolCacheEntry(tool_name="search_web", parameters={"q": 1}, result=[1]))
        """
        if not isinstance(entry, ToolCacheEntry):
            raise InvalidInputError(f"cache_result takes a ToolCacheEntry, got {type(entry).__name__}")
        if not self.cache_results:
            return None
        encoded = self._dumps(entry.result, what=f"cached result of {entry.tool_name!r}")
        created = await self._store(entry.tool_name, entry.parameters_hash, encoded, entry.ttl, "", 0)
        return entry.model_copy(update={"created_at": server_time(created), "ttl": entry.ttl or self.cache_ttl})

    async def get_cached_result(
        self,
        tool_name: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        parameters_hash: str | None = None,
        count: bool = True,
    ) -> ToolCacheEntry | None:
        """The cached entry for these parameters (or their hash), or None on a miss.

        Each lookup counts one hit or miss in the tool's stats (``count=False`` to skip), in the
        same script call that reads the entry. ``entry.ttl`` is the remaining time to live in seconds.

            >>> cached = await tools.get_cached_result(tool_name="search_web", parameters={"query": "AI news"})
        """
        part = self._entry_part(tool_name, self._hash_of(parameters, parameters_hash))
        validate.boolean("count", count)
        if not self.cache_results:
            return None
        if count:
            reply = await self._write("cache_get", tool_name, part)
        else:
            reply = await self._read("cache_peek", tool_name, part)
        return _entry_from_hash(int(reply[0]), pairs(reply[1:]))

    async def invalidate_cached_result(
        self, tool_name: str, parameters: Mapping[str, Any] | None = None, *, parameters_hash: str | None = None
    ) -> bool:
        """Delete a cached entry; True if there was one."""
        params_hash = self._hash_of(parameters, parameters_hash)
        part = self._entry_part(tool_name, params_hash)
        reply = await self._write(
            "cache_delete", tool_name, part, params_hash, self._entry_channel(tool_name, params_hash)
        )
        return bool(reply == "1")

    async def get_or_compute(
        self,
        tool_name: str,
        parameters: Mapping[str, Any],
        compute: Callable[[], Any],
        ttl: float | None = None,
        lock_timeout: float = 30.0,
    ) -> Any:
        """The cached result, or ``compute()``'s (sync or async) stored for ``ttl`` seconds.

        Of many callers (any process) asking for the same missing entry, one computes and
        the others wait for its result. If the computer raises, the lock is released and the
        error re-raised; if it dies, another caller takes over after ``lock_timeout`` seconds.
        Every caller gets the result as decoded from its stored JSON. Counts one miss for the
        caller that computed and one hit for every other, each in the script that reads or
        stores the entry (a hit is one script call; a computed miss two, ``cache_acquire`` and
        ``cache_set``).

            >>> result = await tools.get_or_compute("search_web", {"query": "AI news"}, fetch_news, ttl=600)
        """
        if not callable(compute):
            raise InvalidInputError(f"compute must be callable, got {compute!r}")
        params_hash = hash_parameters(parameters)
        part = self._entry_part(tool_name, params_hash)
        if ttl is not None:
            self.backend.ttl_ms(ttl)
        lock_ms = validate.milliseconds("lock_timeout", lock_timeout)
        if not self.cache_results:
            return await _call(compute)
        token = uuid.uuid4().hex
        pause = POLL_START
        while True:
            reply = await self._write("cache_acquire", tool_name, part, token, lock_ms)
            if reply[0] == "hit":
                return loads(pairs(reply[2:])["result"])
            if reply[0] == "compute":
                break
            await asyncio.sleep(min(pause, max(int(reply[1]), 1) / 1000))
            pause = min(pause * 2, POLL_MAX)
        stored = False
        try:
            encoded = self._dumps(await _call(compute), what=f"computed result of {tool_name!r}")
            try:
                await self._store(tool_name, params_hash, encoded, ttl, token, 1)
                stored = True
            except BackendOutOfMemoryError as exc:  # a full server: the result is still the caller's
                log.warning("%s: result not cached (%s)", tool_name, exc)
        finally:
            if not stored:
                await asyncio.shield(self._write("cache_release", tool_name, part, token, op_id=""))
        return loads(encoded)

    def subscribe_cache(
        self,
        tool_name: str,
        callback: Callback,
        *,
        on_gap: GapCallback | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> Subscription:
        """Cache events of one tool: ``set``, ``delete`` and ``expired`` (Redis TTL expiry).

        ``event.id`` is ``"<tool>:<parameters hash>"``. Await the result to wait until live.

            >>> await tools.subscribe_cache("search_web", lambda ev: print(ev.op, ev.id))
        """
        validate_id("tool", tool_name)
        return self.backend.events.subscribe(
            "toolcache", escape_glob(tool_name) + ":*", callback, on_gap=on_gap, max_pending=max_pending
        )


def _entry_from_hash(pttl: int, h: dict[str, str]) -> ToolCacheEntry | None:
    if not h:
        return None
    return ToolCacheEntry(
        tool_name=h["tool"],
        parameters_hash=h["hash"],
        result=loads(h["result"]),
        created_at=server_time(h.get("created")),
        ttl=pttl / 1000 if pttl > 0 else None,
    )


async def _call(compute: Callable[[], Any]) -> Any:
    value = compute()
    if inspect.isawaitable(value):
        value = await value
    return value

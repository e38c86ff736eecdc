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
from ..events import Callback, GapCallback, Subscription
from ..subscription import DEFAULT_MAX_PENDING
from ..keys import EntityKeys, escape_glob, validate_id
from .models import ToolCacheEntry
from .params_hash import hash_parameters

log = logging.getLogger("agentstate_redis.tools")

POLL_START = 0.01
POLL_MAX = 0.2


@dataclass(frozen=True)
class CacheKeys:
    """The keys of one cache entry, all under its tool's hash tag."""

    tool: EntityKeys  # ``{tool:<name>}``: stats, ops
    base: str  # the entry hash
    lock: str  # get_or_compute's compute lock
    ident: str  # ``<tool>:<hash>``, the id its events carry

    @property
    def counting(self) -> list[str]:
        """The tool's stats, ops and ops_prev keys: what a script that counts a lookup writes."""
        return [self.tool("stats"), self.tool.ops, self.tool.ops_prev]


class CacheMixin:
    """Result caching methods of ToolStateManager."""

    backend: Any
    keys: Any
    cache_results: bool
    cache_ttl: float
    _op_id: Callable[[], str]
    _dumps: Callable[..., str]

    parameters_hash = staticmethod(hash_parameters)

    def _cache_keys(self, tool_name: str, params_hash: str) -> CacheKeys:
        validate_id("tool", tool_name)
        validate_id("toolcache", params_hash, what="parameters_hash")
        ident = validate_id("toolcache", f"{tool_name}:{params_hash}", what="'<tool_name>:<parameters_hash>'")
        entry, lock = self.keys.tool_cache(tool_name, params_hash)
        return CacheKeys(self.keys.tool(tool_name), entry, lock, ident)

    @staticmethod
    def _hash_of(parameters: Mapping[str, Any] | None, parameters_hash: str | None) -> str:
        if parameters is not None:
            return hash_parameters(parameters)
        if parameters_hash is not None:
            return parameters_hash
        raise InvalidInputError("give parameters or parameters_hash")

    async def _store(self, ck: CacheKeys, params_hash: str, encoded: str, ttl: float | None, token: str,
                     misses: int) -> str:
        tool_name = ck.tool.ident
        return await self.backend.run(
            "tools/cache_set", [ck.base, ck.lock, *ck.counting],
            [*self._head(ck.ident, kind="toolcache"), tool_name, params_hash,
             encoded, self.backend.ttl_ms(self.cache_ttl if ttl is None else ttl), token,
             self.backend.channel("tool", tool_name) if misses else "", misses],
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
        ck = self._cache_keys(entry.tool_name, entry.parameters_hash)
        created = await self._store(ck, entry.parameters_hash, encoded, entry.ttl, "", 0)
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
        params_hash = self._hash_of(parameters, parameters_hash)
        ck = self._cache_keys(tool_name, params_hash)
        validate.boolean("count", count)
        if not self.cache_results:
            return None
        if count:
            reply = await self.backend.run(
                "tools/cache_get", [ck.base, *ck.counting],
                [*self._head(tool_name)],
            )
        else:
            reply = await self.backend.run("tools/cache_peek", [ck.base])
        return _entry(int(reply[0]), pairs(reply[1:]))

    async def invalidate_cached_result(
        self, tool_name: str, parameters: Mapping[str, Any] | None = None, *, parameters_hash: str | None = None
    ) -> bool:
        """Delete a cached entry; True if there was one."""
        ck = self._cache_keys(tool_name, self._hash_of(parameters, parameters_hash))
        reply = await self.backend.run(
            "tools/cache_delete", [ck.base, ck.tool.ops, ck.tool.ops_prev],
            [*self._head(ck.ident, kind="toolcache")],
        )
        return reply == "1"

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
        ck = self._cache_keys(tool_name, params_hash)
        if ttl is not None:
            self.backend.ttl_ms(ttl)
        lock_ms = validate.milliseconds("lock_timeout", lock_timeout)
        if not self.cache_results:
            return await _call(compute)
        token = uuid.uuid4().hex
        pause = POLL_START
        acquire_keys = [ck.base, ck.lock, *ck.counting]
        channel = self.backend.channel("tool", tool_name)
        while True:
            reply = await self.backend.run("tools/cache_acquire", acquire_keys,
                                           [self._op_id(), channel, tool_name, token, lock_ms])
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
                await self._store(ck, params_hash, encoded, ttl, token, 1)
                stored = True
            except BackendOutOfMemoryError as exc:  # a full server: the result is still the caller's
                log.warning("%s: result not cached (%s)", tool_name, exc)
        finally:
            if not stored:
                await asyncio.shield(self.backend.run("tools/cache_release", [ck.lock], [token]))
        return loads(encoded)

    def subscribe_cache(self, tool_name: str, callback: Callback, *, on_gap: GapCallback | None = None,
                        max_pending: int = DEFAULT_MAX_PENDING) -> Subscription:
        """Cache events of one tool: ``set``, ``delete`` and ``expired`` (Redis TTL expiry).

        ``event.id`` is ``"<tool>:<parameters hash>"``. Await the result to wait until live.

            >>> await tools.subscribe_cache("search_web", lambda ev: print(ev.op, ev.id))
        """
        validate_id("tool", tool_name)
        return self.backend.events.subscribe("toolcache", escape_glob(tool_name) + ":*", callback,
                                             on_gap=on_gap, max_pending=max_pending)


def _entry(pttl: int, h: dict[str, str]) -> ToolCacheEntry | None:
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

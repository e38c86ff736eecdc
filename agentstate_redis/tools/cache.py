"""The tool result cache: entries keyed by the parameters' canonical hash, expiring by Redis TTL.

    >>> await tools.cache_result(ToolCacheEntry(tool_name="search_web", parameters={"query": "AI news"},
    ...                                         result={"results": [1, 2]}, ttl=3600))
    >>> cached = await tools.get_cached_result(tool_name="search_web", parameters={"query": "AI news"})
    >>> cached.result
    {'results': [1, 2]}
    >>> await tools.get_or_compute("search_web", {"query": "AI news"}, lambda: search("AI news"))

Each entry is its own entity ``{toolcache:<tool>:<hash>}`` (not a sub-key of
``{tool:<name>}``), so its TTL expiry reaches subscribers as an ``expired``
event of kind ``toolcache`` (see :meth:`CacheMixin.subscribe_cache`). Hits and
misses are counted in the tool's stats by a second tiny script
(``tools/count_cache``) that the facade runs after each lookup; the two cannot
share one script because they live under different hash tags.

Stampede protection: :meth:`get_or_compute` takes a short lock (TTL
``lock_timeout``) next to a missing entry; one caller computes, the others
poll the entry until it appears, and take over if the lock expires (a crashed
computer blocks the others at most ``lock_timeout`` seconds).
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .. import validate
from ..codec import loads
from ..errors import InvalidInputError
from ..events import Callback, Subscription
from ..keys import escape_glob, validate_id
from .models import ToolCacheEntry, server_time
from .params_hash import hash_parameters
from .records import pairs

POLL_START = 0.01
POLL_MAX = 0.2


class CacheMixin:
    """Result caching methods of ToolStateManager."""

    backend: Any
    keys: Any
    cache_results: bool
    cache_ttl: float
    _op_id: Callable[[], str]
    _dumps: Callable[..., str]
    _tool_keys: Callable[[str], Any]

    parameters_hash = staticmethod(hash_parameters)

    def _cache_keys(self, tool_name: str, params_hash: str) -> Any:
        validate_id("tool", tool_name)
        validate_id("toolcache", params_hash, what="parameters_hash")
        ident = validate_id("toolcache", f"{tool_name}:{params_hash}", what="'<tool_name>:<parameters_hash>'")
        return self.keys.entity("toolcache", ident)

    @staticmethod
    def _hash_of(parameters: Mapping[str, Any] | None, parameters_hash: str | None) -> str:
        if parameters is not None:
            return hash_parameters(parameters)
        if parameters_hash is not None:
            return parameters_hash
        raise InvalidInputError("give parameters or parameters_hash")

    async def _count(self, tool_name: str, hits: int, misses: int) -> None:
        k = self._tool_keys(tool_name)
        await self.backend.run(
            "tools/count_cache", [k("stats"), k.ops, k.op_order],
            [self._op_id(), self.backend.channel("tool", tool_name), tool_name, hits, misses],
        )

    async def _store(self, tool_name: str, params_hash: str, encoded: str, ttl: float | None, token: str) -> str:
        ck = self._cache_keys(tool_name, params_hash)
        return await self.backend.run(
            "tools/cache_set", [ck.base, ck("lock"), ck.ops, ck.op_order],
            [self._op_id(), self.backend.channel("toolcache", ck.ident), ck.ident, tool_name, params_hash,
             encoded, self.backend.ttl_ms(self.cache_ttl if ttl is None else ttl), token],
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
        created = await self._store(entry.tool_name, entry.parameters_hash, encoded, entry.ttl, "")
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

        Each lookup counts one hit or miss in the tool's stats (``count=False`` to skip).
        ``entry.ttl`` is the remaining time to live in seconds.

            >>> cached = await tools.get_cached_result(tool_name="search_web", parameters={"query": "AI news"})
        """
        params_hash = self._hash_of(parameters, parameters_hash)
        ck = self._cache_keys(tool_name, params_hash)
        validate.boolean("count", count)
        if not self.cache_results:
            return None
        reply = await self.backend.run("tools/cache_get", [ck.base])
        entry = _entry(int(reply[0]), pairs(reply[1:]))
        if count:
            await self._count(tool_name, 1 if entry else 0, 0 if entry else 1)
        return entry

    async def invalidate_cached_result(
        self, tool_name: str, parameters: Mapping[str, Any] | None = None, *, parameters_hash: str | None = None
    ) -> bool:
        """Delete a cached entry; True if there was one."""
        ck = self._cache_keys(tool_name, self._hash_of(parameters, parameters_hash))
        reply = await self.backend.run(
            "tools/cache_delete", [ck.base, ck.ops, ck.op_order],
            [self._op_id(), self.backend.channel("toolcache", ck.ident), ck.ident],
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
        caller that computed and one hit for every other.

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
        while True:
            reply = await self.backend.run("tools/cache_acquire", [ck.base, ck("lock")], [token, lock_ms])
            if reply[0] == "hit":
                await self._count(tool_name, 1, 0)
                return loads(pairs(reply[2:])["result"])
            if reply[0] == "compute":
                break
            await asyncio.sleep(min(pause, max(int(reply[1]), 1) / 1000))
            pause = min(pause * 2, POLL_MAX)
        stored = False
        try:
            encoded = self._dumps(await _call(compute), what=f"computed result of {tool_name!r}")
            await self._store(tool_name, params_hash, encoded, ttl, token)
            stored = True
        finally:
            if not stored:
                await asyncio.shield(self.backend.run("tools/cache_release", [ck("lock")], [token]))
        await self._count(tool_name, 0, 1)
        return loads(encoded)

    def subscribe_cache(self, tool_name: str, callback: Callback) -> Subscription:
        """Cache events of one tool: ``set``, ``delete`` and ``expired`` (Redis TTL expiry).

        ``event.id`` is ``"<tool>:<parameters hash>"``. Await the result to wait until live.

            >>> await tools.subscribe_cache("search_web", lambda ev: print(ev.op, ev.id))
        """
        validate_id("tool", tool_name)
        return self.backend.events.subscribe("toolcache", escape_glob(tool_name) + ":*", callback)


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

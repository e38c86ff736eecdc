"""Change events across processes: the scripts PUBLISH, the hub dispatches to callbacks.

    >>> hub = backend.events
    >>> sub = hub.subscribe("state", "agent:*", on_event)   # on_event(event: ChangeEvent)
    >>> await sub                                            # optional: wait until live
    >>> hub.unsubscribe("state", "agent:*", on_event)

One pub/sub connection per backend carries every subscription; on a cluster,
keyspace (expiry) notifications are read from every primary. Pub/sub is
at-most-once: after a reconnect the ``on_reconnect`` hooks run so callers can
re-read state, and each event carries the entity's version so a gap shows.
Callbacks may be sync or async; they run one at a time in arrival order, and
one that raises is logged and does not stop the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from . import validate
from .keys import escape_glob

if TYPE_CHECKING:
    from .backends.base import Backend

log = logging.getLogger("agentstate_redis.events")

Callback = Callable[["ChangeEvent"], Any]


@dataclass(frozen=True)
class ChangeEvent:
    """One change as published by a script (``old``/``new`` are the stored strings)."""

    kind: str
    id: str
    op: str
    version: int | None
    old: Any
    new: Any
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_message(cls, kind: str, ident: str, payload: bytes | str) -> ChangeEvent:
        data = orjson.loads(payload)
        return cls(kind, data.get("key", ident), data.get("op", "change"), data.get("version"),
                   data.get("old"), data.get("new"), data)


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Redis glob (``* ? [..] \\x``) as an anchored regex."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                body = "^" + body[1:] if body.startswith("^") else body
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.S)


@dataclass
class _Pattern:
    kind: str
    id_glob: str
    regex: re.Pattern[str]
    callbacks: list[Callback] = field(default_factory=list)


class Subscription:
    """Returned by :meth:`EventHub.subscribe`; awaiting it waits until events flow."""

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub

    def __await__(self) -> Any:
        return self._wait().__await__()

    async def _wait(self) -> Subscription:
        await self._hub.start()
        await asyncio.wait_for(self._hub._live.wait(), timeout=10)
        return self


class EventHub:
    """Subscriptions over one backend; start lazily, reconnect on their own.

    The hub makes one PSUBSCRIBE to ``<prefix>ev:*`` and matches kinds and id
    globs itself. Redis ACLs check PSUBSCRIBE patterns literally, so a tenant
    user needs exactly ``&<prefix>ev:*`` (plus ``&__keyevent@*`` for expiry).
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.keys = backend.keys
        self._patterns: dict[tuple[str, str], _Pattern] = {}
        self._pubsubs: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._start_lock = asyncio.Lock()
        self._live = asyncio.Event()
        self._started = False
        self._closing = False
        self.expiry_enabled: bool | None = None
        self._reconnect_hooks: list[Callable[[], Any]] = []
        self._primaries: frozenset[tuple[str, int]] = frozenset()
        self._rebuilding = False

    @property
    def channel_pattern(self) -> str:
        return f"{escape_glob(self.keys.prefix)}ev:*"

    # -- public --------------------------------------------------------------------------------

    def subscribe(self, kind: str, id_glob: str, callback: Callback) -> Subscription:
        validate.text("kind", kind, empty=False)
        validate.text("id_glob", id_glob, empty=False)
        validate.callback("callback", callback)
        entry = self._patterns.get((kind, id_glob))
        if entry is None:
            entry = self._patterns[(kind, id_glob)] = _Pattern(kind, id_glob, glob_to_regex(id_glob))
        entry.callbacks.append(callback)
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop()
            if not self._started:
                self._spawn(self.start())
        return Subscription(self)

    def unsubscribe(self, kind: str, id_glob: str, callback: Callback | None = None) -> None:
        validate.text("kind", kind, empty=False)
        validate.text("id_glob", id_glob, empty=False)
        entry = self._patterns.get((kind, id_glob))
        if entry is None:
            return
        if callback is None:
            entry.callbacks.clear()
        else:
            entry.callbacks[:] = [c for c in entry.callbacks if c != callback]
        if not entry.callbacks:
            del self._patterns[(kind, id_glob)]

    def on_reconnect(self, hook: Callable[[], Any]) -> None:
        """Run ``hook`` after the listener reconnects (events may have been missed)."""
        self._reconnect_hooks.append(hook)

    async def start(self) -> None:
        async with self._start_lock:
            if self._started:
                return
            clients = await self.backend.pubsub_clients()
            self.expiry_enabled = await self.backend.enable_keyspace_events()
            if not self.expiry_enabled:
                log.warning(
                    "%s refused CONFIG SET notify-keyspace-events; TTL expiry will not reach "
                    "subscribers. Set notify-keyspace-events to include 'Ex' on the server.",
                    self.backend.describe(),
                )
            await self._listen(clients)
            if getattr(self.backend, "cluster", False):
                self._tasks.append(asyncio.get_running_loop().create_task(self._watch_topology()))
            self._started = True

    async def _listen(self, clients: list[Any]) -> None:
        self._primaries = frozenset(_address(c) for c in clients)
        for index, client in enumerate(clients):
            pubsub = client.pubsub(ignore_subscribe_messages=False)
            if index == 0:
                await pubsub.psubscribe(self.channel_pattern)
            with contextlib.suppress(Exception):  # an ACL may refuse keyspace channels
                await pubsub.subscribe(f"__keyevent@{self.backend.db}__:expired")
            self._pubsubs.append(pubsub)
            self._tasks.append(asyncio.get_running_loop().create_task(self._read(pubsub)))

    async def _watch_topology(self, period: float = 2.0) -> None:
        """On a cluster: when the set of primaries changes (failover, resharding), listen anew."""
        while not self._closing:
            await asyncio.sleep(period)
            try:
                current = frozenset(await self.backend.current_primaries())  # type: ignore[attr-defined]
            except Exception as exc:  # noqa: BLE001 - the cluster is mid-failover: look again soon
                log.debug("topology check failed: %s", exc)
                continue
            if current and current != self._primaries:
                log.warning("cluster primaries changed (%s -> %s); re-subscribing", sorted(self._primaries),
                            sorted(current))
                await self._rebuild()

    async def _rebuild(self) -> None:
        if self._rebuilding or self._closing:
            return
        self._rebuilding = True
        try:
            old_tasks = [t for t in self._tasks if t is not asyncio.current_task()]
            watcher = [t for t in self._tasks if t is asyncio.current_task()]
            for task in old_tasks:
                task.cancel()
            for pubsub in self._pubsubs:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            if old_tasks:
                await asyncio.wait(old_tasks, timeout=1.0)
            self._pubsubs, self._tasks = [], watcher
            clients = await self.backend.refresh_nodes()  # type: ignore[attr-defined]
            with contextlib.suppress(Exception):
                await self.backend.enable_keyspace_events()
            await self._listen(clients)
            for hook in list(self._reconnect_hooks):
                await _call(hook)
        finally:
            self._rebuilding = False

    async def close(self) -> None:
        # redis-py can swallow a cancellation that lands inside a pub/sub read, so
        # the readers also stop on the flag, and closing their connections wakes them.
        self._closing = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1.0)
        for pubsub in self._pubsubs:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1.0)
        self._tasks, self._pubsubs, self._started = [], [], False

    # -- internals -------------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        task.add_done_callback(_log_failure)

    async def _read(self, pubsub: Any) -> None:
        failures = 0
        while not self._closing:
            try:
                message = await pubsub.get_message(timeout=1.0)
                if failures:
                    failures = 0
                    await self._after_reconnect(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - connection drops: back off, reconnect, resubscribe
                failures += 1
                log.warning("event listener lost its connection (%s); reconnecting", exc)
                await asyncio.sleep(min(0.05 * 2**failures, 2.0))
                continue
            if message is not None:
                await self._dispatch(message)

    async def _after_reconnect(self, pubsub: Any) -> None:
        with contextlib.suppress(Exception):
            await self.backend.enable_keyspace_events()
        for hook in list(self._reconnect_hooks):
            await _call(hook)

    async def _dispatch(self, message: dict[str, Any]) -> None:
        mtype = message.get("type")
        if mtype == "psubscribe":
            self._live.set()
            return
        if mtype == "pmessage":
            parsed = self.keys.parse_channel(message["channel"])
            if parsed is None:
                return
            kind, ident = parsed
            entries = [e for e in self._patterns.values() if e.kind == kind and e.regex.match(ident)]
            if not entries:
                return
            try:
                event = ChangeEvent.from_message(kind, ident, message["data"])
            except orjson.JSONDecodeError:
                log.warning("ignoring malformed event on %s", message["channel"])
                return
            for entry in entries:
                await self._deliver(entry, event)
        elif mtype == "message" and message["channel"].endswith("__:expired"):
            parsed = self.keys.parse_expired(message["data"])
            if parsed is None:
                return
            kind, ident = parsed
            event = ChangeEvent(kind, ident, "expired", None, None, None, {"key": ident, "op": "expired"})
            for entry in list(self._patterns.values()):
                if entry.kind == kind and entry.regex.match(ident):
                    await self._deliver(entry, event)

    async def _deliver(self, entry: _Pattern, event: ChangeEvent) -> None:
        for callback in list(entry.callbacks):
            await _call(callback, event)


async def _call(callback: Callable[..., Any], *args: Any) -> None:
    try:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:  # noqa: BLE001 - one failing callback must not stop the others
        log.exception("subscriber callback %r failed", callback)


def _address(client: Any) -> tuple[str, int]:
    kwargs = client.connection_pool.connection_kwargs
    return (str(kwargs.get("host")), int(kwargs.get("port", 0)))


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("event hub task failed", exc_info=task.exception())

"""Change events across processes: the scripts PUBLISH, the hub hands them to subscriptions.

    >>> hub = backend.events
    >>> sub = hub.subscribe("state", "agent:*", on_event, on_gap=on_gap)   # on_event(event: ChangeEvent)
    >>> await sub                                                          # optional: wait until live
    >>> sub.unsubscribe()                  # or hub.unsubscribe("state", "agent:*", on_event)

One pub/sub connection per backend carries every subscription (on a cluster, keyspace
expiry notifications are read from every primary); each connection's liveness is checked by
its replies (see listener.py). Ids are matched with Redis's own glob over their UTF-8 bytes
(patterns.py), the same as ``list_keys``. Each subscription has its own bounded queue and
delivery task (subscription.py): callbacks may be sync or async, run in arrival order per
subscription, and a slow one delays only its own subscription; one that raises is logged.

Pub/sub is at-most-once. Whatever a subscription may have missed (its queue overflowed, the
connection was lost, went silent, or the cluster changed) reaches its ``on_gap`` callback as a
:class:`Gap`, in order with its events; the hub's ``on_reconnect`` hooks run too. An event
larger than the backend's ``max_event_bytes`` carries only the key, op, version and small
fields: its large fields (``old``/``new`` of a state change) arrive as :class:`OmittedValue`
markers holding their size; read the value with ``get``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from . import validate
from .listener import Listener
from .patterns import IdGlob
from .subscription import DEFAULT_MAX_PENDING, Gap, Subscription, call

if TYPE_CHECKING:
    from .backends.base import Backend

log = logging.getLogger("agentstate_redis.events")

Callback = Callable[["ChangeEvent"], Any]
GapCallback = Callable[[Gap], Any]

#: Seconds without any reply (message or pong) after which a pub/sub connection is replaced,
#: unless the backend sets ``liveness_timeout``.
DEFAULT_LIVENESS_TIMEOUT = 10.0
#: Seconds ``await subscription`` waits for the hub to be live.
LIVE_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class OmittedValue:
    """Stands for a field too large to travel in an event (over the backend's ``max_event_bytes``).

    ``size`` is its size in bytes as stored. Read the value itself with the manager's ``get``
    (it may be newer than the event by then):

        >>> async def on_change(key, old, new):
        ...     if isinstance(new, OmittedValue):
        ...         new = await state.get(key)
    """

    size: int

    def __bool__(self) -> bool:  # a present value, though not carried: truthy like one
        return True


@dataclass(frozen=True)
class ChangeEvent:
    """One change as published by a script (``old``/``new`` are the stored strings, or
    :class:`OmittedValue` when the event was too large to carry them)."""

    kind: str
    id: str
    op: str
    version: int | None
    old: Any
    new: Any
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def omitted(self) -> dict[str, int]:
        """Fields left out of an over-sized event, with their sizes in bytes ({} for a whole event)."""
        omitted = self.data.get("omitted") if self.data.get("truncated") else None
        return dict(omitted) if isinstance(omitted, dict) else {}

    @classmethod
    def from_message(cls, kind: str, ident: str, payload: bytes | str) -> ChangeEvent:
        data = orjson.loads(payload)
        old, new = data.get("old"), data.get("new")
        if data.get("truncated"):
            omitted = data.get("omitted") if isinstance(data.get("omitted"), dict) else {}
            old = OmittedValue(int(omitted["old"])) if "old" in omitted else old
            new = OmittedValue(int(omitted["new"])) if "new" in omitted else new
        return cls(kind, data.get("key", ident), data.get("op", "change"), data.get("version"), old, new, data)


class EventHub:
    """Subscriptions over one backend; starts lazily, reconnects on its own.

    The hub makes one PSUBSCRIBE to ``<prefix>ev:{*`` and matches kinds and id globs
    itself. Redis ACLs check PSUBSCRIBE patterns literally, so a tenant user needs exactly
    ``&<prefix>ev:{*`` (plus ``&__keyevent@*`` for expiry). A user granted only the older
    ``&<prefix>ev:*`` still works: the hub then subscribes to that and drops other prefixes'
    channels itself (they never parse as ours).
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.keys = backend.keys
        self._subs: list[Subscription] = []
        self._listeners: list[Listener] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._start_lock = asyncio.Lock()
        self._started = False
        self._closing = False
        self.expiry_enabled: bool | None = None
        self._reconnect_hooks: list[Callable[[], Any]] = []
        self._primaries: frozenset[tuple[str, int]] = frozenset()
        self._rebuilding = False

    @property
    def channel_pattern(self) -> str:
        return self.keys.channel_pattern

    @property
    def liveness_timeout(self) -> float:
        """The backend's ``liveness_timeout`` (seconds), else ``DEFAULT_LIVENESS_TIMEOUT``."""
        value = getattr(self.backend, "liveness_timeout", None)
        return float(value) if value else DEFAULT_LIVENESS_TIMEOUT

    # -- public --------------------------------------------------------------------------------

    def subscribe(
        self,
        kind: str,
        id_glob: str,
        callback: Callback,
        *,
        on_gap: GapCallback | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> Subscription:
        """Call ``callback(ChangeEvent)`` for every change of ``kind`` whose id matches ``id_glob``
        (Redis glob); ``on_gap(Gap)`` when events may have been missed (see subscription.py)."""
        validate.text("kind", kind, empty=False)
        glob = IdGlob(id_glob, what="id_glob")
        validate.callback("callback", callback)
        if on_gap is not None:
            validate.callback("on_gap", on_gap)
        validate.integer("max_pending", max_pending)
        sub = Subscription(self, kind, glob, callback, on_gap=on_gap, max_pending=max_pending)
        self._subs.append(sub)
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop()
            if not self._started:
                task = asyncio.ensure_future(self.start())
                task.add_done_callback(_log_failure)
        return sub

    def unsubscribe(self, kind: str, id_glob: str, callback: Callback | None = None) -> None:
        validate.text("kind", kind, empty=False)
        validate.text("id_glob", id_glob, empty=False)
        for sub in [
            s
            for s in self._subs
            if s.kind == kind and s.pattern == id_glob and (callback is None or s.callback == callback)
        ]:
            self._remove(sub)

    @property
    def subscriptions(self) -> list[Subscription]:
        return list(self._subs)

    def on_reconnect(self, hook: Callable[[], Any]) -> None:
        """Run ``hook`` after the listener reconnects (events may have been missed)."""
        self._reconnect_hooks.append(hook)

    async def wait_live(self, timeout: float = LIVE_WAIT_SECONDS) -> None:
        """Start if needed, then wait until the server confirmed the subscription (again, after
        a lost connection: a subscription awaited during an outage waits for the reconnect)."""
        await self.start()
        await asyncio.wait_for(self._confirmed(), timeout=timeout)

    async def _confirmed(self) -> None:
        while True:
            listener = self._listeners[0] if self._listeners else None
            if listener is not None:
                await listener.confirmed.wait()
                if self._listeners and self._listeners[0] is listener and listener.confirmed.is_set():
                    return
            await asyncio.sleep(0.05)  # the listeners are being replaced (cluster topology change)

    async def start(self) -> None:
        async with self._start_lock:
            if self._started:
                return
            self._closing = False
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

    async def close(self) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1.0)
        await self._stop_listeners()
        for sub in self._subs:
            sub.close()
        self._subs, self._tasks, self._started = [], [], False

    # -- connections -----------------------------------------------------------------------------

    async def _listen(self, clients: list[Any]) -> None:
        self._primaries = frozenset(_address(c) for c in clients)
        expired = f"__keyevent@{self.backend.db}__:expired"
        listeners: list[Listener] = []
        for index, client in enumerate(clients):
            listener = Listener(
                client,
                patterns=[self.channel_pattern] if index == 0 else [],
                channels=[expired],
                fallback_patterns=[self.keys.legacy_channel_pattern] if index == 0 else [],
                liveness_timeout=self.liveness_timeout,
                on_message=self._dispatch,
                on_restored=self._restored,
                name=f"event listener of {self.backend.describe()}" + (f" (node {index})" if index else ""),
            )
            try:
                await listener.open()
            except BaseException:
                for opened in listeners:
                    await opened.close()
                raise
            listeners.append(listener)
        for listener in listeners:
            listener.start()
        self._listeners = listeners

    async def _stop_listeners(self) -> None:
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            await listener.close()

    def _restored(self, listener: Listener, gap: Gap) -> None:
        """A listener is subscribed again after ``gap``: tell every subscription, run the hooks."""
        if self._closing:
            return
        for sub in list(self._subs):
            sub.report(gap)
        task = asyncio.get_running_loop().create_task(self._after_reconnect())
        task.add_done_callback(_log_failure)
        self._tasks = [t for t in self._tasks if not t.done()] + [task]

    async def _after_reconnect(self) -> None:
        for hook in list(self._reconnect_hooks):
            await call(hook)
        with contextlib.suppress(Exception):  # a restarted server forgot CONFIG SET
            await asyncio.wait_for(self.backend.enable_keyspace_events(), timeout=self.liveness_timeout)

    async def _watch_topology(self, period: float = 2.0) -> None:
        """On a cluster: when the set of primaries changes (failover, resharding), listen anew."""
        while not self._closing:
            await asyncio.sleep(period)
            try:
                current = frozenset(await self.backend.current_primaries())
            except Exception as exc:  # noqa: BLE001 - the cluster is mid-failover: look again soon
                log.debug("topology check failed: %s", exc)
                continue
            if current and current != self._primaries:
                log.warning(
                    "cluster primaries changed (%s -> %s); re-subscribing", sorted(self._primaries), sorted(current)
                )
                await self._rebuild()

    async def _rebuild(self) -> None:
        if self._rebuilding or self._closing:
            return
        self._rebuilding = True
        try:
            since = time.time()
            await self._stop_listeners()
            clients = await self.backend.refresh_nodes()
            with contextlib.suppress(Exception):
                await self.backend.enable_keyspace_events()
            await self._listen(clients)
            gap = Gap("topology", None, since, time.time(), f"cluster primaries now {sorted(self._primaries)}")
            for sub in list(self._subs):
                sub.report(gap)
            for hook in list(self._reconnect_hooks):
                await call(hook)
        finally:
            self._rebuilding = False

    # -- dispatch (runs in a listener's task: queues, never waits on a callback) ------------------

    def _remove(self, sub: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subs.remove(sub)
        sub.close()

    def _dispatch(self, message: dict[str, Any]) -> None:
        mtype = message.get("type")
        if mtype == "pmessage":
            parsed = self.keys.parse_channel(message["channel"])
            if parsed is None:
                return
            kind, ident = parsed
            targets = self._matching(kind, ident)
            if not targets:
                return
            try:
                event = ChangeEvent.from_message(kind, ident, message["data"])
            except (orjson.JSONDecodeError, TypeError, ValueError, KeyError):
                log.warning("ignoring malformed event on %s", message["channel"])
                return
        elif mtype == "message" and str(message.get("channel", "")).endswith("__:expired"):
            parsed = self.keys.parse_expired(message["data"])
            if parsed is None:
                return
            kind, ident = parsed
            targets = self._matching(kind, ident)
            event = ChangeEvent(kind, ident, "expired", None, None, None, {"key": ident, "op": "expired"})
        else:
            return
        for sub in targets:
            sub.offer(event)

    def _matching(self, kind: str, ident: str) -> list[Subscription]:
        raw = ident.encode("utf-8", "surrogatepass")
        return [s for s in self._subs if s.kind == kind and s.glob.match_bytes(raw)]


def _address(client: Any) -> tuple[str, int]:
    kwargs = client.connection_pool.connection_kwargs
    return (str(kwargs.get("host")), int(kwargs.get("port", 0)))


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("event hub task failed", exc_info=task.exception())

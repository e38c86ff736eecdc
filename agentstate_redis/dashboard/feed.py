"""The live event feed: one set of subscriptions on the shared backend's event hub, fanned out
to every browser as server-sent events, with the counts the overview and /metrics show.

    >>> feed = Feed(backend, on_event=directory.on_event)
    >>> await feed.start()
    >>> async for chunk in feed.stream():   # what GET /events/stream sends, one SSE frame each
    ...     ...

Each browser gets its own bounded queue (``CLIENT_QUEUE`` events): a browser that stops
reading loses the oldest events and is told how many, never slows the hub or the others.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson

from ..errors import AgentStateError
from ..events import ChangeEvent
from ..subscription import Gap

log = logging.getLogger(__name__)

#: Entity kinds the feed follows (every kind the managers publish).
KINDS = ("state", "agent", "wf", "team", "tool", "toolcache", "kb", "speech")
#: Events kept for a browser that reads slowly, and the recent ones shown on the events page.
CLIENT_QUEUE = 500
RECENT = 100
#: Seconds over which the overview's event rate is measured.
RATE_WINDOW = 60.0
#: Items of a list field (the task ids of an enqueue) an event line shows.
LIST_SHOWN = 5
#: A comment frame this often keeps proxies from closing an idle stream and finds gone browsers.
KEEPALIVE_SECONDS = 15.0


class Feed:
    """Subscriptions on the event hub, counters, and per-browser queues."""

    def __init__(self, backend: Any, *, on_event: Callable[[ChangeEvent], None] | None = None) -> None:
        self.backend = backend
        self.on_event = on_event
        self.events_total: collections.Counter[str] = collections.Counter()
        self.gaps_total: collections.Counter[str] = collections.Counter()
        self.reconnects_total = 0
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=RECENT)
        self._times: collections.deque[float] = collections.deque()
        self._clients: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._subs: list[Any] = []
        self.started = False
        self.error: str | None = None

    async def start(self) -> None:
        """Subscribe; when the subscriptions are not confirmed (an ACL without the event channels, a
        server that refuses pub/sub), the feed stays off and says why (``error``), and pages still work."""
        hub = self.backend.events
        hub.on_reconnect(self._reconnected)
        self._subs = [hub.subscribe(kind, "*", self._deliver, on_gap=self._gap) for kind in KINDS]
        try:
            for sub in self._subs:
                await sub
        except (asyncio.TimeoutError, AgentStateError) as exc:
            self.error = f"the event subscriptions were not confirmed ({type(exc).__name__}: {exc})"
            log.warning("dashboard live feed off: %s", self.error)
            await self.close()
            return
        self.started = True

    async def close(self) -> None:
        for sub in self._subs:
            sub.unsubscribe()
        self._subs = []
        for queue in list(self._clients):
            queue.put_nowait(None)

    # -- what the hub calls ----------------------------------------------------------------

    def _deliver(self, event: ChangeEvent) -> None:
        now = time.monotonic()
        self.events_total[event.kind] += 1
        self._times.append(now)
        while self._times and self._times[0] < now - RATE_WINDOW:
            self._times.popleft()
        if self.on_event is not None:
            self.on_event(event)
        line = event_line(event)
        self.recent.appendleft(line)
        for queue in self._clients:
            _offer(queue, line)

    def _gap(self, gap: Gap) -> None:
        self.gaps_total[gap.reason] += 1
        line = {"gap": gap.reason, "missed": gap.missed, "at": time.time()}
        for queue in self._clients:
            _offer(queue, line)

    def _reconnected(self) -> None:
        self.reconnects_total += 1

    # -- what pages read ---------------------------------------------------------------------

    def rate(self) -> float:
        """Events per second over the last minute (fewer seconds while the dashboard is younger)."""
        now = time.monotonic()
        while self._times and self._times[0] < now - RATE_WINDOW:
            self._times.popleft()
        return len(self._times) / RATE_WINDOW

    async def stream(self, *, keepalive: float = KEEPALIVE_SECONDS) -> AsyncIterator[bytes]:
        """SSE frames for one browser until it goes away (or the dashboard closes)."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(CLIENT_QUEUE)
        self._clients.add(queue)
        try:
            yield b"retry: 2000\n: connected\n\n"
            while True:
                try:
                    line = await asyncio.wait_for(queue.get(), keepalive)
                except asyncio.TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                if line is None:
                    return
                kind = b"gap" if "gap" in line else b"change"
                yield b"event: " + kind + b"\ndata: " + orjson.dumps(line) + b"\n\n"
        finally:
            self._clients.discard(queue)


def event_line(event: ChangeEvent) -> dict[str, Any]:
    """An event as the feed shows it: kind, id, op, version and the script's small fields."""
    line = {"kind": event.kind, "id": event.id, "op": event.op, "version": event.version, "at": time.time()}
    for key, value in event.data.items():
        if key in ("key", "op", "version", "old", "new"):
            continue
        if isinstance(value, (str, int, float, bool)):
            line[key] = value
        elif isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
            shown = ",".join(str(v) for v in value[:LIST_SHOWN])
            line[key] = shown + (f",… ({len(value)})" if len(value) > LIST_SHOWN else "")
    return line


def _offer(queue: asyncio.Queue[Any], line: dict[str, Any]) -> None:
    """Put without waiting: a full queue (a browser that stopped reading) drops its oldest event."""
    if queue.full():
        dropped = queue.get_nowait()
        if dropped is None:  # closing: keep the end marker
            queue.put_nowait(None)
            return
    queue.put_nowait(line)

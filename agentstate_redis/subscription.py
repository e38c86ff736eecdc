"""One ``subscribe()`` call: its own bounded queue, its own delivery task, and its gaps.

    >>> sub = hub.subscribe("state", "agent:*", on_event, on_gap=on_gap, max_pending=1000)
    >>> await sub                        # wait until events flow
    >>> sub.delivered, sub.dropped, sub.gaps, sub.pending
    (12, 0, 0, 0)
    >>> sub.unsubscribe()

The hub's reader only *queues* an event for each matching subscription; each subscription's
own task calls its callback, one event at a time in arrival order. So a slow callback (sync or
async) delays only its own subscription. A queue holds at most ``max_pending`` events: past
that, events are dropped and counted, and the subscriber is told with a :class:`Gap` (reason
``"overflow"``, ``missed`` = how many) at the place in the stream where they were lost. A
reconnect of the hub's connection is reported the same way (reason ``"reconnect"``,
``"unresponsive"`` or ``"topology"``, ``missed`` unknown), so one ``on_gap`` callback learns of
every event it may have missed and can re-read current state.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .events import ChangeEvent, EventHub
    from .patterns import IdGlob

log = logging.getLogger("agentstate_redis.events")

#: Events one subscription may hold while its callback is busy, unless ``max_pending=`` says otherwise.
DEFAULT_MAX_PENDING = 1000

GapReason = Literal["overflow", "reconnect", "unresponsive", "topology"]


@dataclass(frozen=True)
class Gap:
    """Events this subscription may have missed, reported in order with its events.

    ``reason``: ``"overflow"`` (this subscription's queue was full: ``missed`` events were
    dropped), ``"reconnect"`` (the hub's connection closed or was reset, e.g. Redis dropped it
    at its pub/sub output-buffer limit), ``"unresponsive"`` (the connection went silent for
    longer than the liveness timeout and was replaced) or ``"topology"`` (a cluster's
    primaries changed). ``missed`` is None when the number is unknown. Events published
    between ``since`` and ``until`` (``time.time()`` values) may be missing; re-read what
    you need with ``get``.
    """

    reason: GapReason
    missed: int | None
    since: float
    until: float
    detail: str = ""


class _Overflow:
    """A gap still growing at the tail of a queue: events dropped since ``since``."""

    __slots__ = ("count", "last", "since")

    def __init__(self, now: float) -> None:
        self.count, self.since, self.last = 1, now, now

    def gap(self) -> Gap:
        return Gap("overflow", self.count, self.since, self.last, f"{self.count} events dropped: the queue was full")


class Subscription:
    """Returned by ``subscribe``; awaiting it waits until events flow (see the module docstring).

    Counters: ``delivered`` (events handed to the callback), ``dropped`` (events lost to a full
    queue), ``gaps`` (gaps reported, of any reason), ``pending`` (events waiting or in the callback).
    """

    def __init__(
        self,
        hub: EventHub,
        kind: str,
        glob: IdGlob,
        callback: Callable[[ChangeEvent], Any],
        *,
        on_gap: Callable[[Gap], Any] | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self._hub = hub
        self.kind = kind
        self.pattern = glob.pattern
        self.glob = glob
        self.callback = callback
        self.on_gap = on_gap
        self.max_pending = max_pending
        self.delivered = 0
        self.dropped = 0
        self.gaps = 0
        self._items: deque[Any] = deque()
        self._queued = 0
        self._busy = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"<Subscription {self.kind} {self.pattern!r} delivered={self.delivered} dropped={self.dropped} "
            f"gaps={self.gaps} pending={self.pending}>"
        )

    def __await__(self) -> Any:
        return self._wait().__await__()

    async def _wait(self) -> Subscription:
        await self._hub.wait_live()
        return self

    @property
    def pending(self) -> int:
        return self._queued + (1 if self._busy else 0)

    def unsubscribe(self) -> None:
        """Stop this subscription; events still queued are not delivered."""
        self._hub._remove(self)

    # -- fed by the hub's reader (never blocks) --------------------------------------------------

    def offer(self, event: ChangeEvent) -> None:
        if self._closed:
            return
        if self._queued >= self.max_pending:
            self.dropped += 1
            tail = self._items[-1] if self._items else None
            now = time.time()
            if isinstance(tail, _Overflow):
                tail.count += 1
                tail.last = now
            else:
                self._items.append(_Overflow(now))
        else:
            self._items.append(event)
            self._queued += 1
        self._kick()

    def report(self, gap: Gap) -> None:
        if self._closed:
            return
        tail = self._items[-1] if self._items else None
        if isinstance(tail, Gap) and tail.reason == gap.reason:  # one gap per outage, however many retries
            self._items[-1] = Gap(gap.reason, None, min(tail.since, gap.since), gap.until, gap.detail)
        else:
            self._items.append(gap)
        self._kick()

    def close(self) -> None:
        self._closed = True
        self._items.clear()
        self._queued = 0
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    # -- its own task ------------------------------------------------------------------------------

    def _kick(self) -> None:
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._closed:
            if not self._items:
                self._wake.clear()
                await self._wake.wait()
                continue
            item = self._items.popleft()
            self._busy = True
            try:
                if isinstance(item, (Gap, _Overflow)):
                    await self._gap(item.gap() if isinstance(item, _Overflow) else item)
                else:
                    self._queued -= 1
                    self.delivered += 1
                    await call(self.callback, item)
            finally:
                self._busy = False

    async def _gap(self, gap: Gap) -> None:
        self.gaps += 1
        if self.on_gap is None:
            log.warning(
                "subscription %s %r may have missed events (%s, missed=%s); pass on_gap= to handle it",
                self.kind,
                self.pattern,
                gap.reason,
                gap.missed,
            )
            return
        await call(self.on_gap, gap)


async def call(callback: Callable[..., Any], *args: Any) -> None:
    """Run a sync or async callback; one that raises is logged and does not stop the others."""
    try:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("subscriber callback %r failed", callback)

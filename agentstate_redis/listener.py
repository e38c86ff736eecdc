"""One pub/sub connection of the event hub, whose liveness is checked by its replies.

    >>> listener = Listener(client, patterns=["p:ev:{*"], channels=["__keyevent@0__:expired"],
    ...                     liveness_timeout=10.0, on_message=hub.dispatch, on_restored=hub.restored)
    >>> await listener.open()      # subscribed and confirmed, or raises
    >>> listener.start()           # reads, pings, reconnects on its own
    >>> await listener.close()

A pub/sub connection that goes silent (a peer gone behind a middlebox that keeps
acknowledging: no data, no close) looks the same as a quiet one to a reader that only waits
for messages. So the listener sends a PING on its connection every third of
``liveness_timeout`` and treats "nothing at all received, no message and no pong, for
``liveness_timeout``" as a dead peer: it drops the connection, opens a new one, subscribes
again, and only once the server has confirmed the subscriptions reports the gap
(``on_restored``). A reconnect that redis-py makes by itself under a read shows up as
subscription confirmations arriving on a live connection, and is reported the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import NoPermissionError, ResponseError

from .errors import AccessDeniedError
from .subscription import Gap, GapReason

log = logging.getLogger("agentstate_redis.events")

PING_TOKEN = "agentstate-liveness"
_CONFIRMATIONS = ("psubscribe", "subscribe")


class Unresponsive(ConnectionError):
    """The pub/sub connection sent nothing, not even a pong, for the liveness timeout."""


class Listener:
    """Subscribes ``patterns`` and ``channels`` on ``client`` and keeps them subscribed."""

    def __init__(
        self,
        client: Any,
        *,
        patterns: list[str],
        channels: list[str],
        liveness_timeout: float,
        on_message: Callable[[dict[str, Any]], None],
        on_restored: Callable[[Listener, Gap], None],
        name: str = "",
        fallback_patterns: list[str] | None = None,
    ) -> None:
        self.client = client
        self.patterns = list(patterns)
        #: Patterns to use instead when an ACL refuses ``patterns`` (an older, wider grant).
        self.fallback_patterns = list(fallback_patterns or [])
        self.channels = list(channels)
        self.liveness_timeout = liveness_timeout
        self.on_message = on_message
        self.on_restored = on_restored
        self.name = name
        self.confirmed = asyncio.Event()
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._unexpected = 0  # confirmations still to come from a reconnect redis-py made itself
        self._heard_at = time.time()  # wall clock of the last thing received: where a gap begins

    # -- lifecycle --------------------------------------------------------------------------------

    async def open(self) -> None:
        """Subscribe on a fresh pub/sub connection and wait for the server's confirmations."""
        pubsub = self.client.pubsub(ignore_subscribe_messages=False)
        try:
            if self.patterns:
                await pubsub.psubscribe(*self.patterns)
                try:
                    await self._confirm(pubsub, "psubscribe", self.patterns)
                except NoPermissionError as exc:
                    if not self.fallback_patterns:
                        raise AccessDeniedError(
                            f"{self.name}: the server's ACL refuses PSUBSCRIBE {' '.join(self.patterns)}: {exc}"
                        ) from None
                    log.warning(
                        "%s: the ACL refuses PSUBSCRIBE %s; using %s (grant the narrower pattern so "
                        "the server filters out nested prefixes' events)",
                        self.name,
                        " ".join(self.patterns),
                        " ".join(self.fallback_patterns),
                    )
                    self.patterns, self.fallback_patterns = self.fallback_patterns, []
                    await _discard(pubsub)
                    return await self.open()
            for channel in list(self.channels):
                await pubsub.subscribe(channel)
                try:
                    await self._confirm(pubsub, "subscribe", [channel])
                except ResponseError as exc:  # an ACL may refuse keyspace channels: live without them
                    log.warning("%s refused SUBSCRIBE %s (%s); expiry events will not arrive", self.name, channel, exc)
                    self.channels.remove(channel)
                    pubsub.channels.pop(channel, None)
        except BaseException:
            await _discard(pubsub)
            raise
        self._pubsub = pubsub
        self._unexpected = 0
        self.confirmed.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        # redis-py can swallow a cancellation that lands inside a pub/sub read, so the task
        # also stops on the flag, and closing its connection wakes it.
        self._closing = True
        task = self._task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.wait([task], timeout=1.0)
        await _discard(self._pubsub)
        self._pubsub = None
        if task is not None and task is not asyncio.current_task() and not task.done():
            await asyncio.wait([task], timeout=1.0)

    # -- reading ----------------------------------------------------------------------------------

    async def _confirm(self, pubsub: Any, kind: str, names: list[str]) -> None:
        """Read until the server confirmed ``names``; messages meanwhile are dispatched."""
        waiting = set(names)
        deadline = time.monotonic() + self.liveness_timeout
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Unresponsive(
                    f"{self.name}: no confirmation of {kind} {sorted(waiting)} within {self.liveness_timeout:g} s"
                )
            message = await pubsub.get_message(timeout=min(left, 1.0))
            if message is None:
                continue
            if message.get("type") == kind:
                waiting.discard(_text(message.get("channel")))
            elif message.get("type") in ("pmessage", "message"):
                self.on_message(message)

    async def _run(self) -> None:
        while not self._closing:
            try:
                await self._pump(self._pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of the connection: replace it
                if self._closing:
                    return
                reason: GapReason = "unresponsive" if isinstance(exc, Unresponsive) else "reconnect"
                log.warning("%s lost its pub/sub connection (%s: %s); reconnecting", self.name, type(exc).__name__, exc)
                self.confirmed.clear()
                await _discard(self._pubsub)
                self._pubsub = None
                if not await self._reopen():
                    return
                self.on_restored(self, Gap(reason, None, self._heard_at, time.time(), f"{type(exc).__name__}: {exc}"))

    async def _reopen(self) -> bool:
        failures = 0
        while not self._closing:
            try:
                await self.open()
                return True
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the server is away: back off and try again
                failures += 1
                (log.warning if failures == 1 else log.debug)(
                    "%s could not resubscribe (%s: %s); retrying", self.name, type(exc).__name__, exc
                )
                await asyncio.sleep(min(0.05 * 2**failures, 2.0))
        return False

    async def _pump(self, pubsub: Any) -> None:
        loop = asyncio.get_running_loop()
        every = self.liveness_timeout / 3
        heard = pinged = loop.time()
        while not self._closing:
            if loop.time() - pinged >= every:
                pinged = loop.time()
                await pubsub.ping(PING_TOKEN)
            message = await pubsub.get_message(timeout=min(every, 1.0))
            now = loop.time()
            if message is None:
                if now - heard > self.liveness_timeout:
                    raise Unresponsive(f"{self.name}: nothing received, not even a pong, for {now - heard:.1f} s")
                continue
            heard = now
            since, self._heard_at = self._heard_at, time.time()
            kind = message.get("type")
            if kind in ("pmessage", "message"):
                self.on_message(message)
            elif kind in _CONFIRMATIONS:
                self._resubscribed(since)

    def _resubscribed(self, since: float) -> None:
        """redis-py reconnected under a read and subscribed again: events in between are lost."""
        if self._unexpected > 0:
            self._unexpected -= 1
            return
        self._unexpected = len(self.patterns) + len(self.channels) - 1
        log.warning("%s was reconnected by the client library; reporting a gap", self.name)
        self.on_restored(
            self, Gap("reconnect", None, since, time.time(), "the connection was re-established under a read")
        )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _discard(pubsub: Any) -> None:
    if pubsub is None:
        return
    with contextlib.suppress(Exception):
        await asyncio.wait_for(pubsub.aclose(), timeout=2.0)

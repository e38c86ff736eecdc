"""Whether a call may have reached the server, and since when: what decides if a resend is safe.

    >>> with recording() as record:
    ...     await client.evalsha(sha, 1, key)      # on a connection class made by reports_sends()
    >>> record.first_sent                          # send_clock() when its first byte left, or None

A connection class made by :func:`reports_sends` stamps the current task's
:class:`SendRecord` just before it writes a command. Its own traffic does not
count: the handshake (HELLO, AUTH, SELECT, CLIENT SETINFO), the health-check PING
and pub/sub resubscription run with no record. So a call that failed with
``first_sent is None`` never left this process (no connection, pool exhausted,
connect refused or timed out), and may be sent again at any time.

The clock is ``CLOCK_BOOTTIME`` where the system has it: like ``time.monotonic()``
it keeps running while the process is stopped (SIGSTOP, a debugger, a frozen
container), and unlike it, it also counts a suspended host; either way the server's
clock, which expires op ids, kept running.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar, Token
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the mixin's base, for the checker: the redis-py connection it is mixed into
    from redis.asyncio.connection import AbstractConnection as _Connection
else:
    _Connection = object

_BOOTTIME = getattr(time, "CLOCK_BOOTTIME", None)


def send_clock() -> float:
    """Seconds on a clock that never stops or steps back while the process is paused."""
    if _BOOTTIME is not None:
        return time.clock_gettime(_BOOTTIME)
    return time.monotonic()


class SendRecord:
    """When the first command of one call was written (None: nothing was written yet)."""

    __slots__ = ("first_sent",)

    def __init__(self) -> None:
        self.first_sent: float | None = None

    def mark(self) -> None:
        if self.first_sent is None:
            self.first_sent = send_clock()

    def merge(self, other: SendRecord) -> None:
        """Take ``other``'s send as ours too (a pipeline carried our command)."""
        if other.first_sent is not None and (self.first_sent is None or other.first_sent < self.first_sent):
            self.first_sent = other.first_sent


_RECORD: ContextVar[SendRecord | None] = ContextVar("agentstate_redis_send_record", default=None)


def current_record() -> SendRecord | None:
    """The record the running task's sends go to (None: they are not recorded)."""
    return _RECORD.get()


@contextlib.contextmanager
def recording(record: SendRecord | None = None) -> Iterator[SendRecord]:
    """Record the sends of the code in the block (and of tasks it starts) in ``record``."""
    record = record if record is not None else SendRecord()
    token = _RECORD.set(record)
    try:
        yield record
    finally:
        _RECORD.reset(token)


def start_recording(record: SendRecord) -> Token[SendRecord | None]:
    """``recording()`` without the context manager, for the per-call path: pass the token to ``stop_recording``."""
    return _RECORD.set(record)


stop_recording = _RECORD.reset


class _ReportsSends(_Connection):
    """Mixin for a redis-py asyncio connection: stamp the caller's record before each command."""

    async def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        token = _RECORD.set(None)  # the handshake is the connection's traffic, not the caller's
        try:
            await super().connect_check_health(*args, **kwargs)
        finally:
            _RECORD.reset(token)

    async def check_health(self) -> None:
        token = _RECORD.set(None)  # a PING cannot apply anything
        try:
            await super().check_health()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        finally:
            _RECORD.reset(token)

    async def send_packed_command(self, command: bytes | str | Iterable[bytes], check_health: bool = True) -> None:
        record = _RECORD.get()
        if record is not None:
            # Connect and check health first (neither sends the caller's command), so the
            # stamp is as late as it can be while still coming before the first byte.
            if self._peer_gone():
                await self.disconnect(nowait=True)
            if not self.is_connected:
                await self.connect_check_health(check_health=False)
            if check_health:
                if self._health_check_due():
                    await self.check_health()
                check_health = False
            record.mark()
        await super().send_packed_command(command, check_health)

    def _health_check_due(self) -> bool:
        """redis-py's own test in ``check_health`` (so the common path skips the wrapper above)."""
        interval = self.health_check_interval
        return bool(interval) and asyncio.get_running_loop().time() > self.next_health_check

    def _peer_gone(self) -> bool:
        """The server closed or reset this idle connection already (seen by the event loop).

        redis-py finds out only when it next reads; a command written meanwhile would count
        as sent although it went nowhere.
        """
        reader, writer = getattr(self, "_reader", None), getattr(self, "_writer", None)
        if reader is None or writer is None:
            return False
        return writer.transport.is_closing() or reader.at_eof() or reader.exception() is not None


@cache
def reports_sends(connection_class: type) -> type:
    """``connection_class`` that stamps the caller's :class:`SendRecord` before each command."""
    if issubclass(connection_class, _ReportsSends):
        return connection_class
    return type(connection_class.__name__, (_ReportsSends, connection_class), {"__module__": __name__})


def client_reports_sends(client: Any) -> bool:
    """Whether every command ``client`` sends goes through a :func:`reports_sends` connection."""
    pool = getattr(client, "connection_pool", None)
    connection_class = getattr(pool, "connection_class", None)
    return isinstance(connection_class, type) and issubclass(connection_class, _ReportsSends)

"""Automatic pipelining: concurrent script calls on one client share round trips.

    >>> sender = AutoPipeline(client)
    >>> await asyncio.gather(*(sender.evalsha(sha, 1, f"k{i}") for i in range(64)))

A call made while nothing else is in flight goes out at once, alone, on a
connection held for such calls (no pool checkout per call), so a single
caller pays no extra latency. Calls made while others are in flight
queue up and leave together as one pipeline (no MULTI: each script is atomic
on its own) at the next turn of the event loop, on up to ``max_in_flight``
connections. Each caller gets its own reply or exception, exactly as if it had
sent the command alone; a dropped connection fails the whole batch, and each
caller's own retry policy decides what to resend. A batch's send counts as each
of its callers' send (see sends.py), so a caller knows its command may have left.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .errors import BackendUnavailableError
from .sends import SendRecord, current_record, recording

MIN_POOL_TO_HOLD = 4

#: A queued call: its arguments, the future its caller awaits, the caller's send record.
_Queued = tuple[tuple[Any, ...], "asyncio.Future[Any]", SendRecord | None]


class AutoPipeline:
    def __init__(self, client: Any, max_in_flight: int = 4) -> None:
        self.client = client
        self.max_in_flight = max_in_flight
        self._queue: list[_Queued] = []
        self._in_flight = 0
        self._scheduled = False
        self._held: Any = None  # the connection lone calls use; only one lone call runs at a time
        self._closed = False
        self._sending: set[asyncio.Future[None]] = set()  # the loop holds tasks weakly: keep each batch's
        # A held connection takes a pool slot for good: only hold one when batches, the NOSCRIPT
        # fallback and the event hub still have room.
        self._hold = getattr(client.connection_pool, "max_connections", 0) >= MIN_POOL_TO_HOLD

    async def evalsha(self, *args: Any) -> Any:
        if self._closed:
            raise BackendUnavailableError("the backend is closed")
        if self._in_flight == 0 and not self._queue:
            self._in_flight += 1
            try:
                return await self._alone(args)
            finally:
                self._in_flight -= 1
                self._schedule()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((args, future, current_record()))
        self._schedule()
        return await future

    async def _alone(self, args: tuple[Any, ...]) -> Any:
        if not self._hold:
            return await self.client.evalsha(*args)
        conn = self._held
        if conn is None:
            conn = self._held = await self.client.connection_pool.get_connection()
        if not conn.is_connected:
            await conn.connect()  # a Sentinel-managed connection asks Sentinel for the primary here
        await conn.send_command("EVALSHA", *args)
        # Lost, timed out or cancelled mid-reply, redis-py disconnects the connection, so a late
        # reply never answers the next call; it reconnects on next use.
        return await conn.read_response()

    async def close(self) -> None:
        """Refuse further calls; drop the held connection (a call may still be reading on it)."""
        self._closed = True
        conn, self._held = self._held, None
        if conn is not None:
            await conn.disconnect()
            await self.client.connection_pool.release(conn)

    def _schedule(self) -> None:
        if self._queue and not self._scheduled and self._in_flight < self.max_in_flight:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._start_batch)

    def _start_batch(self) -> None:
        self._scheduled = False
        if not self._queue or self._in_flight >= self.max_in_flight:
            return
        batch, self._queue = self._queue, []
        self._in_flight += 1
        task = asyncio.ensure_future(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[_Queued]) -> None:
        sent = SendRecord()
        try:
            with recording(sent):
                pipe = self.client.pipeline(transaction=False)
                for args, _, _ in batch:
                    pipe.evalsha(*args)
                results = await pipe.execute(raise_on_error=False)
        except BaseException as exc:
            for _, future, record in batch:
                if record is not None:
                    record.merge(sent)
                if not future.done():
                    future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        finally:
            self._in_flight -= 1
            self._schedule()
        for (_, future, _), result in zip(batch, results):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

"""A loopback TCP proxy that injects the faults a production network brings.

    >>> with FaultProxy("127.0.0.1", 6379) as proxy:
    ...     backend = RedisBackend(proxy.url)          # every byte goes through the proxy
    ...     proxy.blackhole()                          # silence: nothing forwarded, nothing closed
    ...     proxy.blackhole_replies()                  # requests reach the server, replies vanish
    ...     proxy.heal()
    ...     proxy.lose_acks(3)                         # the next 3 replies are dropped after the
    ...                                                #   write reached the server (applied, ack lost)
    ...     proxy.cut_replies(2)                       # the next 2 replies stop halfway, then RST
    ...     proxy.reset_all()                          # abort every open connection now
    ...     proxy.set_delay(0.05)                      # 50 ms added to every chunk, both ways

The proxy runs its own event loop on a daemon thread, so sync tests, async
tests and worker processes (which only see ``proxy.url``) can all use it.
Modes apply to connections already open and to new ones alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field


@dataclass
class ProxyStats:
    connections: int = 0
    resets: int = 0
    acks_lost: int = 0
    replies_cut: int = 0
    bytes_up: int = 0
    bytes_down: int = 0


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    silent: bool = False  # black-holed for good (silence_open)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a RST (SO_LINGER 0), as a crashed peer or a middlebox reset looks."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError, AttributeError):
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    def __init__(self, target_host: str, target_port: int, *, listen_port: int = 0, db: int = 0) -> None:
        self.target = (target_host, target_port)
        self.listen_port = listen_port
        self.db = db
        self.stats = ProxyStats()
        self._links: set[_Link] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self.heal()  # no fault to begin with

    # -- lifecycle ----------------------------------------------------------------------------

    @classmethod
    def for_url(cls, url: str) -> FaultProxy:
        """A proxy in front of the server of a ``redis://host:port/db`` url."""
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        db = int(parts.path.strip("/") or 0)
        return cls(parts.hostname or "127.0.0.1", parts.port or 6379, db=db)

    @property
    def port(self) -> int:
        return self.listen_port

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.listen_port}/{self.db}"

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults -------------------------------------------------------------------------------

    def set_delay(self, seconds: float) -> None:
        """Hold every chunk ``seconds`` before forwarding it, in both directions."""
        self._delay = seconds

    def blackhole(self) -> None:
        """Forward nothing and close nothing: bytes are read and dropped (a middlebox that acks)."""
        self._blackhole = True

    def blackhole_replies(self) -> None:
        """Forward requests, drop every reply, close nothing: writes apply, their callers hear nothing."""
        self._blackhole_replies = True

    def stall_replies(self) -> None:
        """Stop reading replies from the server until ``heal()``: a client that reads nothing (a
        paused process), so the server's output buffer for it grows once the socket buffers fill."""
        self._stall_replies = True

    def silence_open(self) -> int:
        """Black-hole, for good, every connection open now (new ones forward as usual): a peer
        that went silent behind a middlebox that keeps acknowledging. Returns how many."""
        links = list(self._links)
        for link in links:
            link.silent = True
        return len(links)

    def refuse(self) -> None:
        """Accept new connections and close them at once (a server that is down)."""
        self._refuse = True

    def heal(self) -> None:
        """Back to forwarding every byte, as a new proxy does (connections black-holed meanwhile stay broken)."""
        with self._lock:
            self._blackhole = self._blackhole_replies = self._refuse = self._stall_replies = False
            self._delay = 0.0
            self._lose_acks = self._cut_replies = 0

    def lose_acks(self, n: int = 1) -> None:
        """Drop the next ``n`` replies and reset their connections; the requests did reach the server."""
        with self._lock:
            self._lose_acks += n

    def cut_replies(self, n: int = 1) -> None:
        """Forward only the first half of each of the next ``n`` replies, then reset the connection."""
        with self._lock:
            self._cut_replies += n

    def reset_all(self) -> int:
        """Abort every open connection (RST to both sides); returns how many there were."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self._reset_all(), self._loop).result(10)

    @property
    def open_connections(self) -> int:
        return len(self._links)

    # -- internals ----------------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", self.listen_port))
        self.listen_port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._reset_all()

    async def _reset_all(self) -> int:
        links = list(self._links)
        for link in links:
            self._drop(link)
        self.stats.resets += len(links)
        return len(links)

    def _drop(self, link: _Link) -> None:
        _abort(link.client)
        _abort(link.server)
        for task in link.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self._links.discard(link)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refuse:
            _abort(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _abort(writer)
            return
        self.stats.connections += 1
        link = _Link(writer, up_writer)
        self._links.add(link)
        link.tasks = [
            asyncio.ensure_future(self._pump(link, reader, up_writer, upstream=True)),
            asyncio.ensure_future(self._pump(link, up_reader, writer, upstream=False)),
        ]

    async def _pump(
        self, link: _Link, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, upstream: bool
    ) -> None:
        try:
            while True:
                while self._stall_replies and not upstream:
                    await asyncio.sleep(0.01)
                chunk = await source.read(65536)
                if not chunk:
                    break
                if link.silent:
                    continue
                if self._delay:
                    await asyncio.sleep(self._delay)
                    if link not in self._links:
                        return  # dropped meanwhile: a reset connection delivers nothing late
                if self._blackhole or (self._blackhole_replies and not upstream):
                    continue  # read and dropped: the sender sees its bytes accepted
                if not upstream:
                    fault = self._take_fault()
                    if fault == "lose":
                        self.stats.acks_lost += 1
                        self._drop(link)
                        return
                    if fault == "cut":
                        self.stats.replies_cut += 1
                        sink.write(chunk[: max(1, len(chunk) // 2)])
                        with contextlib.suppress(OSError):
                            await sink.drain()
                        self._drop(link)
                        return
                if upstream:
                    self.stats.bytes_up += len(chunk)
                else:
                    self.stats.bytes_down += len(chunk)
                sink.write(chunk)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            return
        if link in self._links and not self._blackhole:
            self._drop(link)

    def _take_fault(self) -> str | None:
        """The fault due on the reply about to be forwarded: 'lose', 'cut' or None."""
        with self._lock:
            if self._lose_acks > 0:
                self._lose_acks -= 1
                return "lose"
            if self._cut_replies > 0:
                self._cut_replies -= 1
                return "cut"
        return None

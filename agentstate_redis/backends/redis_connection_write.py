"""Connection classes that write a command without a timer task when the write cannot block.

    >>> pool = aioredis.BlockingConnectionPool.from_url(url, socket_timeout=10)
    >>> pool.connection_class = direct_write(pool.connection_class)

With a ``socket_timeout``, redis-py's asyncio ``Connection.send_packed_command``
wraps every write in ``asyncio.wait_for``, which before Python 3.12 runs the
write as a task of its own: two more turns of the event loop per command, about
a fifth of the client's CPU for a lone script call. The write only waits when
the transport's buffer is over its high-water mark (64 KiB by default). So when
the buffer is empty and the command is smaller than that mark (nearly every
call), the command is written directly, and drained (which cannot wait) only if
the kernel did not take it all. Otherwise (or once the transport is closing)
redis-py's own path, with its timeout, runs.
Errors are redis-py's: ``TimeoutError`` and ``ConnectionError``, connection dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from redis.exceptions import ConnectionError


class _DirectWrite:
    async def send_packed_command(self, command: bytes | str | Iterable[bytes], check_health: bool = True) -> None:
        if not isinstance(command, list) or not self.is_connected:  # type: ignore[attr-defined]
            await super().send_packed_command(command, check_health)  # type: ignore[misc]
            return
        if check_health:  # it may reconnect: the writer is read after it
            await self.check_health()  # type: ignore[attr-defined]
        writer = self._writer  # type: ignore[attr-defined]
        transport = writer and writer.transport
        if (
            transport is None
            or transport.is_closing()
            or transport.get_write_buffer_size()
            or sum(map(len, command)) >= transport.get_write_buffer_limits()[1]
        ):
            await super().send_packed_command(command, check_health=False)  # type: ignore[misc]
            return
        try:
            writer.writelines(command)
            if transport.get_write_buffer_size():  # the kernel did not take it all
                await writer.drain()
        except OSError as e:
            await self.disconnect(nowait=True)  # type: ignore[attr-defined]
            raise ConnectionError(f"Error while writing to socket. {e}.") from e
        except BaseException:
            await self.disconnect(nowait=True)  # type: ignore[attr-defined]
            raise


@cache
def direct_write(connection_class: type) -> type:
    """``connection_class`` whose small writes skip the ``wait_for`` task (see the module docstring)."""
    if issubclass(connection_class, _DirectWrite):
        return connection_class
    return type(connection_class.__name__, (_DirectWrite, connection_class), {"__module__": __name__})

"""Connection classes that pack commands with hiredis, as redis-py's sync client does.

    >>> pool = aioredis.BlockingConnectionPool.from_url(url)
    >>> pool.connection_class = hiredis_packing(pool.connection_class)

redis-py's asyncio ``Connection.pack_command`` encodes each argument in Python;
its sync ``Connection`` hands the whole command to ``hiredis.pack_command`` when
hiredis is installed. A script call carries 10-20 arguments, so the asyncio packer
was ~10% of a worker's CPU. The subclasses reuse redis-py's own
``HiredisRespSerializer``: same bytes on the wire, same ``DataError`` for a bad
argument. Without hiredis the classes are returned unchanged.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from redis.connection import HiredisRespSerializer
from redis.utils import HIREDIS_AVAILABLE

if HIREDIS_AVAILABLE:
    from hiredis import pack_command


class _HiredisPacking:
    _packer = HiredisRespSerializer()

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str) and " " not in args[0]:
            try:
                return [pack_command(args)]
            except TypeError:
                pass  # a memoryview, or a bad argument: redis-py's serializer converts or names it
        return self._packer.pack(*args)


@cache
def hiredis_packing(connection_class: type) -> type:
    """``connection_class`` with ``pack_command`` done by hiredis (unchanged without hiredis)."""
    if not HIREDIS_AVAILABLE or issubclass(connection_class, _HiredisPacking):
        return connection_class
    return type(connection_class.__name__, (_HiredisPacking, connection_class), {"__module__": __name__})

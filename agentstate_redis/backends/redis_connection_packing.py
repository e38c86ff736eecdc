"""Connection classes that pack commands with hiredis, as redis-py's sync client does.

    >>> pool = aioredis.BlockingConnectionPool.from_url(url)
    >>> pool.connection_class = hiredis_packing(pool.connection_class)

redis-py's asyncio ``Connection.pack_command`` encodes each argument in Python;
its sync ``Connection`` hands the whole command to ``hiredis.pack_command`` when
hiredis is installed. A script call carries 10-20 arguments, so the asyncio packer
was ~10% of a worker's CPU. hiredis packs only what it packs exactly like
redis-py (str, bytes, int, float, with the default utf-8/strict encoding); any
other argument or encoding goes through redis-py's packer, so the bytes and the
errors are redis-py's. Without hiredis the classes are returned unchanged.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from redis.utils import HIREDIS_AVAILABLE

if HIREDIS_AVAILABLE:
    from hiredis import pack_command


class _HiredisPacking:
    def pack_command(self, *args: Any) -> list[bytes]:
        enc = self.encoder  # type: ignore[attr-defined]
        if (
            enc.encoding == "utf-8"
            and enc.encoding_errors == "strict"
            and isinstance(args[0], str)
            and " " not in args[0]
        ):
            try:
                return [pack_command(args)]
            except TypeError:
                pass  # a type hiredis does not take (memoryview, IntEnum, a bad value): redis-py decides
        packed: list[bytes] = super().pack_command(*args)  # type: ignore[misc]
        return packed


@cache
def hiredis_packing(connection_class: type) -> type:
    """``connection_class`` with ``pack_command`` done by hiredis (unchanged without hiredis)."""
    if not HIREDIS_AVAILABLE or issubclass(connection_class, _HiredisPacking):
        return connection_class
    return type(connection_class.__name__, (_HiredisPacking, connection_class), {"__module__": __name__})

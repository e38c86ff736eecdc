"""Script replies -> Python values, shared by every manager: hashes as dicts, server times as datetimes.

    >>> pairs(["status", "running", "#v", "3"])
    {'status': 'running', '#v': '3'}
    >>> pairs({})                      # cjson's spelling of an empty table
    {}
    >>> server_time("1735732800123")
    datetime.datetime(2025, 1, 1, 12, 0, 0, 123000, tzinfo=datetime.timezone.utc)

Every script stores and returns times as milliseconds since the epoch by the Redis server's
clock (``now_ms()`` in lua/lib/core.lua); ``server_time`` is their one reading, as aware UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson


def pairs(flat: Any) -> dict[str, str]:
    """``[field, value, ...]`` (as HGETALL returns it, or a JSON text of that list) -> dict.

    An empty reply, ``None`` or cjson's ``{}`` (how Lua encodes an empty table) is ``{}``.
    """
    if isinstance(flat, (str, bytes)):
        flat = orjson.loads(flat)
    if not flat or isinstance(flat, dict):
        return {}
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def server_time(ms: Any) -> datetime | None:
    """Server milliseconds since the epoch (int, float or their text) -> aware UTC datetime.

    ``None``, ``""`` and ``False`` (a field the script left unset) are ``None``.
    """
    if ms is None or ms == "" or ms is False:
        return None
    return datetime.fromtimestamp(int(float(ms)) / 1000, tz=timezone.utc)


__all__ = ["pairs", "server_time"]

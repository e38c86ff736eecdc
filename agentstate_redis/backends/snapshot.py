"""Whole-keyspace snapshots of a fakeredis server, as JSON or msgpack, optionally gzipped.

    >>> blob = encode(capture(client), fmt="msgpack", compress=True)
    >>> restore(client, decode(blob))

Every Redis type the scripts use is written by its own commands (no DUMP,
whose fakeredis payload is a pickle). Expiry is stored as an absolute
wall-clock time so TTLs keep counting down while the file sits on disk.
"""

from __future__ import annotations

import gzip
import time
from typing import Any

import msgpack
import orjson

FORMATS = ("json", "msgpack")
SNAPSHOT_VERSION = 1


def capture(client: Any) -> dict[str, Any]:
    """Read every key of a (synchronous, decode_responses) fakeredis client."""
    entries = []
    now_ms = int(time.time() * 1000)
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        pttl = client.pttl(key)
        if kind == "string":
            value: Any = client.get(key)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        elif kind == "set":
            value = sorted(client.smembers(key))
        elif kind == "zset":
            value = [[m, s] for m, s in client.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            value = [[entry_id, fields] for entry_id, fields in client.xrange(key)]
        else:
            continue
        if value is None:
            continue
        entries.append({"k": key, "t": kind, "x": now_ms + pttl if pttl > 0 else None, "v": value})
    return {"version": SNAPSHOT_VERSION, "saved_at_ms": now_ms, "keys": entries}


def restore(client: Any, snapshot: dict[str, Any]) -> int:
    """Write a snapshot back; keys whose expiry has passed are skipped. Returns keys restored."""
    now_ms = int(time.time() * 1000)
    pipe = client.pipeline(transaction=False)
    restored = 0
    for entry in snapshot.get("keys", []):
        key, kind, expires, value = entry["k"], entry["t"], entry["x"], entry["v"]
        if expires is not None and expires <= now_ms:
            continue
        pipe.delete(key)
        if kind == "string":
            pipe.set(key, value)
        elif kind == "hash":
            if not value:
                continue
            pipe.hset(key, mapping=value)
        elif kind == "list":
            pipe.rpush(key, *value)
        elif kind == "set":
            pipe.sadd(key, *value)
        elif kind == "zset":
            pipe.zadd(key, {m: s for m, s in value})
        elif kind == "stream":
            for entry_id, fields in value:
                pipe.xadd(key, fields, id=entry_id)
        if expires is not None:
            pipe.pexpireat(key, expires)
        restored += 1
    pipe.execute()
    return restored


def encode(snapshot: dict[str, Any], fmt: str = "json", compress: bool = False) -> bytes:
    raw = orjson.dumps(snapshot) if fmt == "json" else msgpack.packb(snapshot, use_bin_type=True)
    return gzip.compress(raw, compresslevel=5) if compress else raw


def decode(blob: bytes) -> dict[str, Any]:
    """Accepts any format and compression :func:`encode` writes (detected from the bytes)."""
    if blob[:2] == b"\x1f\x8b":
        blob = gzip.decompress(blob)
    decoded: dict[str, Any] = orjson.loads(blob) if blob[:1] == b"{" else msgpack.unpackb(blob, raw=False)
    return decoded

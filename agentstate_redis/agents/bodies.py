"""Large checkpoint bodies on the wire: a plain SET before the save script, a plain GET beside the load script.

    >>> if await stage(backend, key, body):      # then the save script RENAMEs the staging key into place
    ...     body_arg = b""
    >>> text = await fetch(backend, body_key)     # None if it could not be read: read through the script then

A body passed to a script in ARGV is copied into Lua and out again; at a megabyte that costs more than
the SET itself. The scripts still decide everything (lease, op-id replay, retention): the staged key is
only transport, named by the save's op id and expiring after ``STAGE_TTL_MS``, and a body read by GET
is checked against the tag the load script returns (``models.checkpoint_from_parts``). Neither call
raises for a connection or permission failure: the caller then sends or reads the body through the
script, whose runner retries and types the error. Only an out-of-memory refusal is raised.
"""

from __future__ import annotations

import asyncio

from redis import exceptions as rx

from ..backends.base import Backend
from ..errors import BackendOutOfMemoryError, is_oom_reply

#: Bodies larger than this are staged with a SET; smaller ones travel in the script's ARGV (one round trip
#: instead of two: below this size, copying through Lua costs less than the second round trip).
STAGE_MIN_BYTES = 128 * 1024
#: A staged body the script never takes (the client died in between, a refused save) expires after this.
STAGE_TTL_MS = 60_000
#: ``get_checkpoint`` gets bodies up to this size inline from the script, larger ones by a GET of their own.
INLINE_MAX_BYTES = 32 * 1024

_FAILURES = (rx.RedisError, OSError, asyncio.TimeoutError)


async def stage(backend: Backend, key: str, body: bytes) -> bool:
    """SET ``body`` at the staging ``key`` (PX ``STAGE_TTL_MS``); False if that failed (send it in ARGV instead)."""
    try:
        await backend.connect()
        await backend.client.set(key, body, px=STAGE_TTL_MS)
    except _FAILURES as exc:
        if is_oom_reply(exc):
            raise BackendOutOfMemoryError(
                f"agents/save_checkpoint: the body was refused: {exc}", script="agents/save_checkpoint", keys=[key]
            ) from None
        return False
    return True


async def fetch(backend: Backend, key: str) -> str | None:
    """The string at ``key``, or None if missing or unreadable (the caller reads through the script)."""
    try:
        await backend.connect()
        text = await backend.client.get(key)
    except _FAILURES:
        return None
    return text if isinstance(text, str) else None

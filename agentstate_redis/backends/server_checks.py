"""What a backend learns about a Redis server when it connects: script flags, and whether it evicts.

    >>> await script_oom_guard(client)      # 'flags' on Redis 7+ and Valkey, 'command' on Redis 6
    'flags'
    >>> await eviction_policy(client)       # CONFIG GET maxmemory-policy, else INFO memory
    'allkeys-lru'
    >>> check_eviction("allkeys-lru", "warn", "redis server at redis://cache:6379/0")   # logs a warning

An evicting ``maxmemory-policy`` lets the server delete keys it needs: queued tasks,
leases, the op ids that make a retried write apply once. ``check_eviction`` warns
(``eviction="warn"``, the default) or raises EvictionPolicyError (``"refuse"``).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from redis import exceptions as rx

from ..errors import EvictionPolicyError, InvalidInputError

log = logging.getLogger("agentstate_redis.backend")

#: What a backend does when the server may evict keys: warn (log and a RuntimeWarning), refuse
#: (EvictionPolicyError at connect), or ignore (a deployment that checks it elsewhere, e.g. `agentstate health`).
EVICTION_MODES = ("warn", "refuse", "ignore")
#: The only maxmemory-policy that never deletes a key to make room.
SAFE_POLICY = "noeviction"
_SHEBANG_PROBE = "#!lua flags=no-writes\nreturn 1"


def check_mode(value: Any) -> str:
    """The eviction mode, or InvalidInputError naming the choices."""
    if value not in EVICTION_MODES:
        raise InvalidInputError(f"eviction must be one of {EVICTION_MODES}, got {value!r}")
    return str(value)


async def script_oom_guard(client: Any) -> str:
    """``'flags'`` if the server reads ``#!lua flags=...`` script lines (Redis 7+, Valkey), else ``'command'``.

    Asked by running a read-only script with flags: a server without flags fails to compile it.
    Any other refusal (an ACL without EVAL) says nothing about flags: ``'flags'``, and the
    scripts themselves then fail with the server's reason.
    """
    try:
        await client.eval(_SHEBANG_PROBE, 0)
    except rx.ResponseError as exc:
        text = str(exc).lower()
        if "compil" in text or "unexpected symbol" in text:
            return "command"
    return "flags"


async def eviction_policy(client: Any, **target: Any) -> str | None:
    """The server's ``maxmemory-policy``: CONFIG GET where permitted, else INFO memory; None if both are refused.

    ``target`` is passed on to each command (``target_nodes=node`` for one node of a cluster).
    """
    try:
        value = (await client.config_get("maxmemory-policy", **target)).get("maxmemory-policy")
        if value:
            return str(value)
    except rx.ResponseError:  # CONFIG is disabled or renamed on most managed services
        pass
    try:
        value = (await client.info("memory", **target)).get("maxmemory_policy")
    except rx.ResponseError:
        return None
    return str(value) if value else None


def evicts(policy: str | None) -> bool:
    """Can a server with this ``maxmemory-policy`` delete keys to make room? (None = unknown: no.)"""
    return policy is not None and policy != SAFE_POLICY


def eviction_message(policy: str, where: str) -> str:
    return (
        f"{where} has maxmemory-policy {policy}: when it is full it deletes keys, and with them queued "
        f"tasks, leases and the op ids that make retried writes apply once; set maxmemory-policy "
        f"{SAFE_POLICY} (writes are then refused, typed BackendOutOfMemoryError, and nothing is lost)"
    )


def check_eviction(policy: str | None, mode: str, where: str) -> None:
    """Warn about (``mode="warn"``) or refuse (``"refuse"``: EvictionPolicyError) an evicting policy."""
    if mode == "ignore" or not evicts(policy):
        return
    assert policy is not None
    message = eviction_message(policy, where)
    if mode == "refuse":
        raise EvictionPolicyError(f"refusing to run: {message} (or pass eviction='warn')", policy=policy)
    log.warning("%s", message)
    warnings.warn(message, RuntimeWarning, stacklevel=4)

"""``agentstate health``: exit 0 when Redis takes a real write through the scripts (for Kubernetes probes).

    $ agentstate health
    ok: redis server at redis://redis:6379/0 (server 7.0.15, maxmemory-policy noeviction), scripts run and a write applied, 1.2 ms
    $ agentstate health      # on a full server
    unhealthy: writes refused: the server is over maxmemory (health/probe ...)

Unhealthy (exit 1, one line naming the reason) when the server is unreachable,
refuses writes (over ``maxmemory``, a read-only replica, an ACL, a failed save),
or may evict keys (``maxmemory-policy`` other than ``noeviction``) unless
``--allow-eviction`` is given.
"""

from __future__ import annotations

import argparse
import os
import socket
import time

from redis import exceptions as rx

from ..backends.server_checks import eviction_message, evicts
from ..errors import AccessDeniedError, AgentStateError, BackendOutOfMemoryError, EvictionPolicyError
from .common import add_connection_options, backend_from
from .parsing import Subparsers, command_parser

#: How long the probe's key lives (ms): long enough for a slow replica link, short enough to leave nothing.
PROBE_TTL_MS = 10_000


HELP = "check that Redis takes writes through the Lua scripts"
DESCRIPTION = """Exit 0 if a small expiring write runs through a library script and the server does not evict keys;
1 otherwise, with one line saying why."""


def add_parser(sub: Subparsers) -> None:
    p = command_parser(sub, "health", run, help=HELP, description=DESCRIPTION)
    add_connection_options(p)
    p.add_argument(
        "--allow-eviction",
        action="store_true",
        help="accept a maxmemory-policy that evicts keys (a cache-only deployment)",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing")


def probe_id() -> str:
    """A probe key id of its own per call: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def reason(exc: BaseException) -> str:
    """One line naming why the check failed."""
    if isinstance(exc, BackendOutOfMemoryError):
        return f"writes refused: the server is over maxmemory ({exc})"
    if isinstance(exc, AccessDeniedError):
        return f"writes refused by the server's ACL ({exc})"
    if isinstance(exc.__cause__, rx.ReadOnlyError):
        return f"writes refused: the server is a read-only replica ({exc})"
    return str(exc).replace("\n", " ")


async def run(args: argparse.Namespace) -> int:
    backend = backend_from(args)
    backend.eviction = "ignore"  # checked below, to say it in one line
    started = time.perf_counter()
    try:
        await backend.connect()
        policy = backend.maxmemory_policy
        if evicts(policy) and not args.allow_eviction:
            assert policy is not None
            raise EvictionPolicyError(
                f"{eviction_message(policy, backend.describe())}; pass --allow-eviction to accept it", policy=policy
            )
        await backend.run("health/probe", [backend.keys.entity("health", probe_id()).base], [PROBE_TTL_MS])
        info = await backend.client.info("server")
    except (AgentStateError, OSError) as exc:
        if not args.quiet:
            print(f"unhealthy: {reason(exc)}")
        return 1
    finally:
        await backend.close()
    if not args.quiet:
        version = info.get("valkey_version") or info.get("redis_version", "?")
        print(
            f"ok: {backend.describe()} (server {version}, maxmemory-policy {policy or 'unknown'}), "
            f"scripts run and a write applied, {(time.perf_counter() - started) * 1000:.1f} ms"
        )
    return 0

"""``agentstate health``: exit 0 when Redis answers and the scripts run (for Kubernetes probes)."""

from __future__ import annotations

import argparse
import time

from ..errors import AgentStateError
from .common import add_connection_options, backend_from


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("health", help="check that Redis is reachable and the Lua scripts load",
                       description="Exit 0 if the server answers PING and a library script runs; 1 otherwise.")
    add_connection_options(p)
    p.add_argument("--quiet", action="store_true", help="print nothing")
    p.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    backend = backend_from(args)
    started = time.perf_counter()
    try:
        await backend.connect()
        probe = backend.keys.state("__health__")
        await backend.run("state/get", [probe.base])
        info = await backend.client.info("server")
    except (AgentStateError, OSError) as exc:
        if not args.quiet:
            print(f"unhealthy: {exc}")
        return 1
    finally:
        await backend.close()
    if not args.quiet:
        version = info.get("valkey_version") or info.get("redis_version", "?")
        print(f"ok: {backend.describe()} (server {version}), scripts run, "
              f"{(time.perf_counter() - started) * 1000:.1f} ms")
    return 0

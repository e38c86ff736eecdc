"""``agentstate watch PATTERN``: print change events live, one JSON object per line."""

from __future__ import annotations

import argparse
import asyncio
import sys

import orjson
from redis.exceptions import NoPermissionError

from ..backends.redis import RedisBackend
from ..errors import AccessDeniedError
from ..events import ChangeEvent
from .common import CommandError, add_connection_options, backend_from, check_access, has_keys, unknown_prefix_message
from .parsing import Subparsers, command_parser

KINDS = ["state", "agent", "wf", "team", "tool", "toolcache", "kb", "speech"]


HELP = "print change events live"
DESCRIPTION = """Subscribe to change events and print each as a JSON line. When nothing is stored under --prefix yet
it says so on stderr (naming the prefixes in use) and keeps waiting: the fleet it follows may not have started."""


def add_parser(sub: Subparsers) -> None:
    p = command_parser(sub, "watch", run, help=HELP, description=DESCRIPTION)
    p.add_argument("pattern", nargs="?", default="*", help="glob over entity ids (default *)")
    p.add_argument("--kind", action="append", choices=KINDS, help="entity kind to watch (repeatable; default: all)")
    p.add_argument("--count", type=int, default=0, help="exit after this many events (0 = run until Ctrl-C)")
    add_connection_options(p)


async def run(args: argparse.Namespace) -> int:
    backend = backend_from(args)
    done = asyncio.Event()
    seen = 0

    def show(event: ChangeEvent) -> None:
        nonlocal seen
        if args.count and seen >= args.count:
            return  # events already dispatched while the command winds down
        line = {
            "kind": event.kind,
            "id": event.id,
            "op": event.op,
            "version": event.version,
            **{k: v for k, v in event.data.items() if k not in ("key", "op", "version")},
        }
        sys.stdout.write(orjson.dumps(line).decode() + "\n")
        sys.stdout.flush()
        seen += 1
        if args.count and seen >= args.count:
            done.set()

    try:
        await check_access(backend, keys=False)  # watching needs the event channels, not the keys
        await check_channel_access(backend)
        if not await has_keys(backend):
            print(f"# {await unknown_prefix_message(backend)}; waiting for events anyway", file=sys.stderr, flush=True)
        try:
            for kind in args.kind or KINDS:
                await backend.events.subscribe(kind, args.pattern, show)
        except asyncio.TimeoutError:
            raise CommandError(f"the event listener on {backend.describe()} did not start within 10 s") from None
        print(
            f"# watching {args.pattern!r} under prefix {args.prefix!r} on {backend.describe()}",
            file=sys.stderr,
            flush=True,
        )
        await done.wait()
    finally:
        await backend.close()
    return 0


async def check_channel_access(backend: RedisBackend) -> None:
    """PSUBSCRIBE the prefix's event channels once, so an ACL without ``&<prefix>ev:{*`` is one
    AccessDeniedError here instead of a listener that retries forever."""
    client = (await backend.pubsub_clients())[0]
    pubsub = client.pubsub()
    pattern = backend.events.channel_pattern
    try:
        await pubsub.psubscribe(pattern)
        await pubsub.get_message(timeout=5.0)
    except NoPermissionError as exc:
        raise AccessDeniedError(
            f"the server's ACL refuses this user the event channels {pattern!r} ({exc}); grant &{pattern}",
            channel=pattern,
        ) from None
    finally:
        await pubsub.aclose()

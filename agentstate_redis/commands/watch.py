"""``agentstate watch PATTERN``: print change events live, one JSON object per line."""

from __future__ import annotations

import argparse
import asyncio
import sys

import orjson

from ..events import ChangeEvent
from .common import add_connection_options, backend_from

KINDS = ["state", "agent", "wf", "team", "tool", "toolcache", "kb", "speech"]


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("watch", help="print change events live",
                       description="Subscribe to change events and print each as a JSON line.")
    p.add_argument("pattern", nargs="?", default="*", help="glob over entity ids (default *)")
    p.add_argument("--kind", action="append", choices=KINDS,
                   help="entity kind to watch (repeatable; default: all)")
    p.add_argument("--count", type=int, default=0, help="exit after this many events (0 = run until Ctrl-C)")
    add_connection_options(p)
    p.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    backend = backend_from(args)
    done = asyncio.Event()
    seen = 0

    def show(event: ChangeEvent) -> None:
        nonlocal seen
        line = {"kind": event.kind, "id": event.id, "op": event.op, "version": event.version, **{
            k: v for k, v in event.data.items() if k not in ("key", "op", "version")}}
        sys.stdout.write(orjson.dumps(line).decode() + "\n")
        sys.stdout.flush()
        seen += 1
        if args.count and seen >= args.count:
            done.set()

    try:
        for kind in args.kind or KINDS:
            await backend.events.subscribe(kind, args.pattern, show)
        print(f"# watching {args.pattern!r} on {backend.describe()}", file=sys.stderr, flush=True)
        await done.wait()
    finally:
        await backend.close()
    return 0

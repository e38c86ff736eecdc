"""The ``agentstate`` command.

    $ agentstate demo                      # a multi-process agent fleet on an embedded Redis
    $ agentstate server --port 6390 --data-dir ./data
    $ agentstate health --redis-url redis://localhost:6379/0
    $ agentstate watch 'agent:*'
    $ agentstate inspect --json

Every command that talks to Redis takes ``--redis-url`` (default: ``REDIS_URL``,
then ``redis://localhost:6379/0``) and ``--prefix`` (default ``agentstate:``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from . import commands
from .commands.common import INTERRUPTED, one_line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentstate", description="Shared state for fleets of AI agents, on Redis.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in commands.ALL:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand. A failure is one line on stderr and exit 1, never a traceback."""
    import redis.exceptions

    from .commands.common import CommandError
    from .errors import AgentStateError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.run(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
    except KeyboardInterrupt:
        print(f"agentstate {args.command}: interrupted", file=sys.stderr, flush=True)
        return INTERRUPTED
    except (AgentStateError, CommandError, redis.exceptions.RedisError, OSError, asyncio.TimeoutError) as exc:
        print(f"agentstate {args.command}: {one_line(exc)}", file=sys.stderr, flush=True)
        return 1
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())

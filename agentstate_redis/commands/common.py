"""Options shared by the subcommands that talk to Redis."""

from __future__ import annotations

import argparse

from ..backends.redis import RedisBackend, default_url


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis-url", default=None,
                        help="Redis URL (default: $REDIS_URL, then redis://localhost:6379/0)")
    parser.add_argument("--prefix", default="agentstate:", help="key prefix (default: agentstate:)")


def backend_from(args: argparse.Namespace) -> RedisBackend:
    return RedisBackend(args.redis_url or default_url(), key_prefix=args.prefix, retry_seconds=2.0)

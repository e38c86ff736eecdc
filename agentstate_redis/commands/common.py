"""What the subcommands that talk to Redis share: options, the backend, and checks that fail in one line.

>>> add_connection_options(p)                    # --redis-url, --prefix
>>> backend = backend_from(args)
>>> await check_access(backend)                  # reachable, credentials, ACL: one typed error each
>>> await require_keys(backend)                  # CommandError naming the prefixes that do exist
"""

from __future__ import annotations

import argparse

from ..backends.redis import RedisBackend, default_url
from ..errors import AccessDeniedError
from ..keys import escape_glob
from ..state import StateManager

#: Exit status of a command stopped by Ctrl-C or SIGTERM (128 + SIGINT), as shells report it.
INTERRUPTED = 130

#: At most this many agentstate keys are read to suggest prefixes (the SCAN stops there).
SAMPLE_KEYS = 2000


class CommandError(Exception):
    """A failure the command explains itself; ``agentstate`` prints it as one line and exits 1."""


def one_line(exc: BaseException) -> str:
    """An exception as one line: its message with whitespace folded, or its type when it has none."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """``--redis-url`` and ``--prefix``, which :func:`backend_from` reads."""
    parser.add_argument(
        "--redis-url", default=None, help="Redis URL (default: $REDIS_URL, then redis://localhost:6379/0)"
    )
    parser.add_argument("--prefix", default="agentstate:", help="key prefix (default: agentstate:)")


def backend_from(args: argparse.Namespace) -> RedisBackend:
    """The backend the options of :func:`add_connection_options` name (not connected yet)."""
    return RedisBackend(args.redis_url or default_url(), key_prefix=args.prefix, retry_seconds=2.0)


async def check_access(backend: RedisBackend, *, keys: bool = True) -> None:
    """Connect and (with ``keys``) read one key under the prefix: an unreachable server, a TLS or
    password failure, and an ACL that refuses the prefix each raise their typed error here, before
    any output."""
    await backend.connect()
    if not keys:
        return
    prefix = backend.keys.prefix
    try:
        await StateManager(backend=backend).get_entry("__agentstate_cli_probe__")
    except AccessDeniedError as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise AccessDeniedError(
            f"the server's ACL refuses this user the keys under prefix {prefix!r} ({reason}); "
            f"grant it ~{prefix}{{* or give its own prefix with --prefix",
            prefix=prefix,
        ) from None


async def has_keys(backend: RedisBackend) -> bool:
    async for _ in backend.scan(escape_glob(backend.keys.prefix) + "*"):
        return True
    return False


async def prefixes_seen(backend: RedisBackend, sample: int = SAMPLE_KEYS) -> list[str]:
    """Key prefixes of agentstate entities (``<prefix>{kind:id}``) among the first ``sample`` keys."""
    found: set[str] = set()
    seen = 0
    async for key in backend.scan("*{*"):
        brace = key.find("{")
        if brace > 0 and ":" in key[brace : key.find("}", brace) + 1]:
            found.add(key[:brace])
        seen += 1
        if seen >= sample:
            break
    return sorted(found)


async def unknown_prefix_message(backend: RedisBackend) -> str:
    seen = await prefixes_seen(backend)
    hint = (
        f"prefixes in use there: {', '.join(repr(p) for p in seen[:8])}" if seen else "no agentstate keys there at all"
    )
    return f"no keys under prefix {backend.keys.prefix!r} on {backend.describe()}; {hint} (choose one with --prefix)"


async def require_keys(backend: RedisBackend) -> None:
    """CommandError when nothing is stored under the prefix, naming the prefixes that are."""
    if not await has_keys(backend):
        raise CommandError(await unknown_prefix_message(backend))

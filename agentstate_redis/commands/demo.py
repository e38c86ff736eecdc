"""``agentstate demo``: the multi-process fleet on an embedded Redis (or the one you name)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from rich.console import Console

from ..embedded import server_version
from .common import INTERRUPTED
from .parsing import Subparsers, command_parser

HELP = "run a multi-process agent fleet and check its guarantees"
DESCRIPTION = """Start N worker processes on a shared team queue, kill one mid-task, pause and resume the workflow,
and check that every task was completed exactly once. Exits 1 if an invariant fails. Without --redis-url (or
REDIS_URL) it runs its own embedded Redis. It prints its key prefix and the watch/inspect commands that follow it;
Ctrl-C or SIGTERM stops the workers, removes the run's keys and exits 130."""


def add_parser(sub: Subparsers) -> None:
    p = command_parser(sub, "demo", run, help=HELP, description=DESCRIPTION)
    p.add_argument("--workers", type=int, default=4, help="worker processes (default 4, at least 2)")
    p.add_argument("--tasks", type=int, default=200, help="tasks to enqueue (default 200, at least 10)")
    p.add_argument("--seed", type=int, default=7, help="random seed for task mix and failures")
    p.add_argument(
        "--redis-url",
        default=None,
        help="use this Redis: the run has its own key prefix (printed at the start) and removes "
        "its keys at the end, also when stopped with Ctrl-C or SIGTERM",
    )
    p.add_argument("--no-live", action="store_true", help="no progress bars")
    p.add_argument("--fault", choices=["drop-completion"], help=argparse.SUPPRESS)


async def run(args: argparse.Namespace) -> int:
    from ..demo import DemoSettings, run_demo

    console = Console(soft_wrap=True)  # long lines (URLs, commands) stay whole in pipes and logs
    try:
        settings = DemoSettings(
            workers=args.workers,
            tasks=args.tasks,
            seed=args.seed,
            redis_url=args.redis_url or os.environ.get("REDIS_URL"),
            live=not args.no_live,
            fault=args.fault,
        )
    except ValueError as exc:
        print(f"agentstate demo: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    report = await run_demo(settings, announce=lambda coordinator: announce(console, coordinator))
    if report.interrupted:
        console.print(
            f"agentstate demo: interrupted after {time.monotonic() - started:.1f} s "
            f"({report.tasks_done} of {settings.tasks} tasks done); workers stopped, "
            f"{_removed(report.keys_removed, settings.prefix)}",
            highlight=False,
        )
        return INTERRUPTED
    report.print(console)
    console.print(f"  {_removed(report.keys_removed, settings.prefix)}", highlight=False)
    if not report.ok:
        console.print(f"[red]FAILED[/]: {', '.join(report.failed_invariants)}")
        return 1
    console.print("[green]all invariants held[/]")
    return 0


def announce(console: Console, coordinator: Any) -> None:
    """Where the run is, and the commands that follow it from another terminal."""
    s = coordinator.settings
    backend = coordinator.backend
    if coordinator.embedded is not None:
        where = f"an embedded Redis at {s.redis_url} ({server_version(coordinator.embedded.binary)})"
    else:
        where = backend._safe_url()
    console.print(f"[bold]agentstate demo[/]: {s.workers} worker processes, {s.tasks} tasks, on {where}")
    # The password stays out of the terminal; the commands then need it (or REDIS_URL) put back.
    url = backend._safe_url()
    console.print(
        f"  key prefix {s.prefix} ; follow the run from another terminal:\n"
        f"    agentstate watch --redis-url '{url}' --prefix '{s.prefix}'\n"
        f"    agentstate inspect --redis-url '{url}' --prefix '{s.prefix}'",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _removed(count: int | None, prefix: str) -> str:
    if count is None:
        return "the embedded server and its data are gone"
    return f"removed its {count} keys (prefix {prefix}); nothing else was touched"

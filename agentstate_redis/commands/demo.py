"""``agentstate demo``: the multi-process fleet on an embedded Redis (or the one you name)."""

from __future__ import annotations

import argparse
import os

from rich.console import Console


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "demo", help="run a multi-process agent fleet and check its guarantees",
        description="Start N worker processes on a shared team queue, kill one mid-task, pause and resume "
                    "the workflow, and check that every task was completed exactly once. Exits 1 if an "
                    "invariant fails. Without --redis-url (or REDIS_URL) it runs its own embedded Redis.",
    )
    p.add_argument("--workers", type=int, default=4, help="worker processes (default 4, at least 2)")
    p.add_argument("--tasks", type=int, default=200, help="tasks to enqueue (default 200, at least 10)")
    p.add_argument("--seed", type=int, default=7, help="random seed for task mix and failures")
    p.add_argument("--redis-url", default=None, help="use this Redis (its own key prefix; other keys untouched)")
    p.add_argument("--no-live", action="store_true", help="no progress bars")
    p.add_argument("--fault", choices=["drop-completion"], help=argparse.SUPPRESS)
    p.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    from ..demo import DemoSettings, run_demo

    console = Console()
    try:
        settings = DemoSettings(workers=args.workers, tasks=args.tasks, seed=args.seed,
                                redis_url=args.redis_url or os.environ.get("REDIS_URL"),
                                live=not args.no_live, fault=args.fault)
    except ValueError as exc:
        console.print(f"agentstate demo: {exc}")
        return 2
    where = settings.redis_url or "an embedded Redis"
    console.print(f"[bold]agentstate demo[/]: {settings.workers} worker processes, {settings.tasks} tasks, on {where}")
    report = await run_demo(settings)
    report.print(console)
    if not report.ok:
        console.print(f"[red]FAILED[/]: {', '.join(report.failed_invariants)}")
        return 1
    console.print("[green]all invariants held[/]")
    return 0

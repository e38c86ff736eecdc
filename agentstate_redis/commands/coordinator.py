"""``agentstate coordinator``: enqueue the demo's tasks and follow the team until they are done.

    $ agentstate coordinator --team demo-fleet --tasks 500 --redis-url redis://redis:6379/0

The other half of a fleet run as separate containers: workers (``agentstate
worker``) claim what this enqueues. Enqueuing is idempotent (task ids come from
the seed), so a restarted coordinator adds nothing twice. Exits 0 when every
task is completed or dead-lettered (only the poisoned one may be dead), 1 on
``--timeout``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from .common import add_connection_options, backend_from, check_access, one_line
from .parsing import Subparsers, command_parser

HELP = "enqueue demo tasks and follow the fleet until they are done"
DESCRIPTION = """Create the team, enqueue --tasks demo tasks (one always fails, to show dead letters), reap expired
leases and print progress until the queue is drained, then a summary."""


def add_parser(sub: Subparsers) -> None:
    from ..demo.scenario import TEAM

    p = command_parser(sub, "coordinator", run, help=HELP, description=DESCRIPTION)
    p.add_argument("--team", default=TEAM, help=f"team id (default {TEAM})")
    p.add_argument("--tasks", type=int, default=200, help="tasks to enqueue (default 200, at least 10)")
    p.add_argument("--seed", type=int, default=7, help="random seed for the task mix")
    p.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds (default 600)")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between progress lines (default 2)")
    add_connection_options(p)


async def run(args: argparse.Namespace) -> int:
    from ..demo.scenario import POISON_TASK, DemoSettings, enqueue_all, make_tasks
    from ..errors import AgentStateError
    from ..orchestration import OrchestrationStateManager

    try:
        settings = DemoSettings(tasks=args.tasks, seed=args.seed)
    except ValueError as exc:
        print(f"agentstate coordinator: {exc}", file=sys.stderr)
        return 2
    backend = backend_from(args)
    orch = OrchestrationStateManager(backend=backend, completed_retention=max(1000, 2 * args.tasks))
    started = time.monotonic()
    try:
        await check_access(backend)
        await orch.create_team(args.team, exist_ok=True)
        new = await enqueue_all(orch, args.team, make_tasks(settings))
        print(
            f"agentstate coordinator: {len(new)} of {args.tasks} tasks enqueued to team {args.team} "
            f"on {backend.describe()}",
            flush=True,
        )
        while True:
            await orch.reap(args.team)
            q = await orch.get_queue_status(args.team, page_size=0)
            agents = await orch.get_agents(args.team)
            online = sum(1 for a in agents if a.online and a.status != "offline")
            print(
                f"  done {q.completed_total} dead {q.dead_count} pending {q.pending_count} in progress "
                f"{q.in_progress_count} retry {q.scheduled_count} | workers online {online}",
                flush=True,
            )
            if q.pending_count + q.in_progress_count + q.scheduled_count == 0:
                break
            if time.monotonic() - started > args.timeout:
                print(f"agentstate coordinator: not drained after {args.timeout:.0f} s", flush=True)
                return 1
            await asyncio.sleep(args.interval)
        dead = [t.id for t in await orch.list_dead(args.team, limit=100)]
    except AgentStateError as exc:
        print(f"agentstate coordinator: {one_line(exc)}", file=sys.stderr, flush=True)
        return 1
    finally:
        await backend.close()
    unexpected = [t for t in dead if t != POISON_TASK]
    print(
        f"agentstate coordinator: drained in {time.monotonic() - started:.1f} s: {q.completed_total} completed, "
        f"{len(dead)} dead letter(s) {dead}",
        flush=True,
    )
    return 1 if unexpected else 0

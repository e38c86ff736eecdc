"""``agentstate scheduler``: enqueue a team's schedule ticks, alone (every ``agentstate worker`` runs one too).

    $ agentstate scheduler --team demo-fleet

Runs ``run_scheduler`` until SIGTERM/SIGINT, then exits 0 with what it enqueued. Run as many as
you like: each tick is enqueued once. A team that does not exist yet is waited for; a server that
cannot be reached at start makes it exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from .common import add_connection_options, backend_from, check_access, one_line
from .parsing import Subparsers, command_parser

HELP = "enqueue a team's scheduled tasks until SIGTERM"
DESCRIPTION = """Enqueue one task per tick of each schedule of a team (add_schedule), exactly once however many
schedulers and workers run; sleep until the next tick is due. SIGTERM/SIGINT: stop, exit 0."""


def add_parser(sub: Subparsers) -> None:
    from ..demo.scenario import TEAM

    p = command_parser(sub, "scheduler", run, help=HELP, description=DESCRIPTION)
    p.add_argument("--team", default=TEAM, help=f"team id (default {TEAM})")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    add_connection_options(p)


async def run(args: argparse.Namespace) -> int:
    from ..errors import AgentStateError
    from ..orchestration import OrchestrationStateManager
    from ..worker import run_scheduler, stop_on_signals

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    backend = backend_from(args)
    orch = OrchestrationStateManager(backend=backend)
    try:
        await check_access(backend)
        stop = asyncio.Event()
        with stop_on_signals(stop):  # before the line that says it runs: a SIGTERM from then on stops it cleanly
            print(f"agentstate scheduler: team {args.team} on {backend.describe()}", flush=True)
            stats = await run_scheduler(orch, args.team, stop=stop, install_signals=False)
    except AgentStateError as exc:
        print(f"agentstate scheduler: {one_line(exc)}", file=sys.stderr, flush=True)
        return 1
    finally:
        await backend.close()
    print(f"agentstate scheduler: stopped (enqueued {stats.enqueued} in {stats.passes} passes)", flush=True)
    return 0

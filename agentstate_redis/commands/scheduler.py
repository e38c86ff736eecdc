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


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from ..demo.scenario import TEAM

    p = sub.add_parser(
        "scheduler",
        help="enqueue a team's scheduled tasks until SIGTERM",
        description="Enqueue one task per tick of each schedule of a team (add_schedule), exactly "
        "once however many schedulers and workers run; sleep until the next tick is "
        "due. SIGTERM/SIGINT: stop, exit 0.",
    )
    p.add_argument("--team", default=TEAM, help=f"team id (default {TEAM})")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    add_connection_options(p)
    p.set_defaults(run=run)


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

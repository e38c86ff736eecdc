"""``agentstate queue``: control a team's queue from a shell, one line per result.

    $ agentstate queue pause research_team
    research_team: paused
    $ agentstate queue cancel research_team task_002 --reason superseded
    research_team: task_002 cancelled (was in_progress)
    $ agentstate queue promote research_team task_003
    research_team: task_003 pending (claimable now)
    $ agentstate queue resume research_team
    research_team: resumed
    $ agentstate queue limits research_team --max-in-progress 3 --max-per-second 20
    research_team: limits team max_in_progress=3 max_per_second=20
    $ agentstate queue limits research_team --capability gpu --clear
    research_team: limits gpu cleared
    $ agentstate queue limits research_team
    research_team: limits team max_in_progress=3 max_per_second=20 (in progress 2, last second 7)

Each is one OrchestrationStateManager call (pause_team, resume_team, cancel_task, promote_task,
set_team_limits, or get_team_limits when ``limits`` is given no value and no ``--clear``);
a refusal (unknown team or task, a finished task) is one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import InvalidInputError
from .common import add_connection_options, backend_from, check_access
from .parsing import Subparsers, command_parser

HELP = "pause or resume a team, cancel or promote a task, set limits"
DESCRIPTION = "Control a team's task queue: pause|resume|limits TEAM, cancel|promote TEAM TASK."


def add_parser(sub: Subparsers) -> None:
    p = command_parser(sub, "queue", run, help=HELP, description=DESCRIPTION)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (
        ("pause", "no claim succeeds until resume (running tasks go on)"),
        ("resume", "let claims through again"),
    ):
        a = actions.add_parser(name, help=text)
        a.add_argument("team")
        add_connection_options(a)
    cancel = actions.add_parser("cancel", help="end a task cancelled (a running one's holder stops it)")
    cancel.add_argument("team")
    cancel.add_argument("task")
    cancel.add_argument("--reason", default=None, help="why (shown to the holder and in the task)")
    add_connection_options(cancel)
    promote = actions.add_parser("promote", help="make a delayed (or retry-waiting) task claimable now")
    promote.add_argument("team")
    promote.add_argument("task")
    add_connection_options(promote)
    limits = actions.add_parser(
        "limits",
        help="show, set or clear claim limits (team-wide or per capability)",
        description="The values given replace the scope's limits (one left out is "
        "removed); with none and no --clear, show every scope.",
    )
    limits.add_argument("team")
    limits.add_argument("--max-in-progress", type=int, default=None, metavar="N", help="tasks in progress at most")
    limits.add_argument("--max-per-second", type=int, default=None, metavar="R", help="claims per second at most")
    limits.add_argument("--capability", default=None, metavar="C", help="limit the tasks needing C (default: team)")
    limits.add_argument("--clear", action="store_true", help="remove the scope's limits")
    add_connection_options(limits)


def limits_line(row: Any) -> str:
    """One scope of get_team_limits as ``gpu max_in_progress=1`` (``team`` for the team-wide scope)."""
    values = [
        f"{name}={getattr(row, name)}"
        for name in ("max_in_progress", "max_per_second")
        if getattr(row, name) is not None
    ]
    return f"{row.capability or 'team'} {' '.join(values) or 'cleared'}"


async def _limits(orch: Any, args: argparse.Namespace) -> str:
    given = args.max_in_progress is not None or args.max_per_second is not None
    if args.clear and given:
        raise InvalidInputError("--clear takes no --max-in-progress or --max-per-second")
    if args.clear or given:
        row = await orch.set_team_limits(
            args.team,
            max_in_progress=args.max_in_progress,
            max_per_second=args.max_per_second,
            capability=args.capability,
        )
        return f"{args.team}: limits {limits_line(row)}"
    rows = await orch.get_team_limits(args.team)
    if args.capability is not None:
        rows = [r for r in rows if r.capability == args.capability]
    shown = [f"{limits_line(r)} (in progress {r.in_progress}, last second {r.last_second})" for r in rows]
    return f"{args.team}: limits {'; '.join(shown) or 'none'}"


async def run(args: argparse.Namespace) -> int:
    from ..orchestration import OrchestrationStateManager

    backend = backend_from(args)
    try:
        await check_access(backend)
        orch = OrchestrationStateManager(backend=backend)
        if args.action == "pause":
            changed = await orch.pause_team(args.team)
            print(f"{args.team}: {'paused' if changed else 'already paused'}")
        elif args.action == "resume":
            changed = await orch.resume_team(args.team)
            print(f"{args.team}: {'resumed' if changed else 'not paused'}")
        elif args.action == "cancel":
            before = (await orch.get_task(args.team, args.task)).status
            await orch.cancel_task(args.team, args.task, reason=args.reason)
            print(f"{args.team}: {args.task} cancelled (was {before})")
        elif args.action == "limits":
            print(await _limits(orch, args))
        else:
            await orch.promote_task(args.team, args.task)
            print(f"{args.team}: {args.task} pending (claimable now)")
    finally:
        await backend.close()
    return 0

"""``agentstate queue``: control a team's queue from a shell, one line per result.

    $ agentstate queue pause research_team
    research_team: paused
    $ agentstate queue cancel research_team task_002 --reason superseded
    research_team: task_002 cancelled (was in_progress)
    $ agentstate queue promote research_team task_003
    research_team: task_003 pending (claimable now)
    $ agentstate queue resume research_team
    research_team: resumed

Each is one OrchestrationStateManager call (pause_team, resume_team, cancel_task, promote_task);
a refusal (unknown team or task, a finished task) is one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse

from .common import add_connection_options, backend_from, check_access


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("queue", help="pause or resume a team, cancel or promote a task",
                       description="Control a team's task queue: pause|resume TEAM, cancel|promote TEAM TASK.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (("pause", "no claim succeeds until resume (running tasks go on)"),
                       ("resume", "let claims through again")):
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
    p.set_defaults(run=run)


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
        else:
            await orch.promote_task(args.team, args.task)
            print(f"{args.team}: {args.task} pending (claimable now)")
    finally:
        await backend.close()
    return 0

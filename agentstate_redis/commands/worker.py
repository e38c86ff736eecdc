"""``agentstate worker``: one long-running queue worker doing the demo's simulated work.

    $ agentstate worker --team demo-fleet --capabilities research,analysis --lease 30 --grace 20

Made for containers: the agent id defaults to the host name (the pod name), the
Redis URL to ``$REDIS_URL``; SIGTERM stops claiming, lets the task in hand finish
within ``--grace`` seconds or releases it back to pending, and exits 0. A server
that is over ``maxmemory`` (or goes away) while the worker joins its team is
waited for with backoff, as run_worker waits between claims; one that cannot be
reached at all at start makes it exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import socket
import sys
from typing import Any

from .common import add_connection_options, backend_from, check_access, one_line
from .parsing import Subparsers, command_parser

log = logging.getLogger("agentstate_redis.worker")


HELP = "run one queue worker until SIGTERM (simulated work)"
DESCRIPTION = """Claim tasks of a team queue with a lease, heartbeat while working, complete or fail them with the
fencing token. SIGTERM/SIGINT: stop claiming, finish or release the current task, exit 0."""


def add_parser(sub: Subparsers) -> None:
    from ..demo.scenario import TEAM

    p = command_parser(sub, "worker", run, help=HELP, description=DESCRIPTION)
    p.add_argument("--team", default=TEAM, help=f"team id (default {TEAM}; created if missing)")
    p.add_argument("--agent-id", default=None, help="agent id (default: the host name, i.e. the pod name)")
    p.add_argument(
        "--capabilities", default="", help="comma-separated capabilities, e.g. research,analysis (default: any task)"
    )
    p.add_argument("--lease", type=float, default=30.0, help="claim lease in seconds (default 30)")
    p.add_argument(
        "--grace",
        type=float,
        default=20.0,
        help="seconds the current task may still run after SIGTERM before it is released (default 20)",
    )
    p.add_argument("--claim-wait", type=float, default=2.0, help="seconds one blocking claim waits (default 2)")
    p.add_argument("--work-seconds", default="0.05,0.2", help="simulated work time range MIN,MAX (default 0.05,0.2)")
    p.add_argument("--fail-rate", type=float, default=0.0, help="share of attempts that fail transiently (default 0)")
    p.add_argument("--max-tasks", type=int, default=0, help="exit after claiming this many tasks (0 = no limit)")
    p.add_argument(
        "--no-scheduler",
        action="store_true",
        help="do not run the team's scheduler beside the claims (see agentstate scheduler)",
    )
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    add_connection_options(p)


def parse_range(text: str) -> tuple[float, float]:
    """``"0.05,0.2"`` -> ``(0.05, 0.2)``; one number is a fixed time."""
    parts = [float(x) for x in text.split(",") if x.strip()]
    if not 1 <= len(parts) <= 2 or min(parts) < 0:
        raise ValueError(f"--work-seconds must be MIN,MAX seconds, got {text!r}")
    return (parts[0], parts[-1])


class SimulatedWork:
    """The demo's work: sleep a while, sometimes fail; a task marked ``poison`` always fails."""

    def __init__(self, agent_id: str, seconds: tuple[float, float], fail_rate: float) -> None:
        self.agent_id, self.seconds, self.fail_rate = agent_id, seconds, fail_rate
        self.rng = random.Random()

    async def __call__(self, task: Any) -> dict[str, Any]:
        from ..demo.scenario import KINDS

        data = task.data if isinstance(task.data, dict) else {}
        await asyncio.sleep(self.rng.uniform(*self.seconds))
        tool = KINDS.get(task.type or "", "generic")
        if data.get("poison"):
            raise RuntimeError(f"{tool} is down")
        if self.rng.random() < self.fail_rate:
            raise RuntimeError(f"{tool} timed out")
        return {"worker": self.agent_id, "summary": f"{data.get('topic', task.id)} ({tool})"}


async def join_team(orch: Any, team: str, agent_id: str, caps: list[str], stop: asyncio.Event) -> bool:
    """Create the team if missing and register the agent, waiting out a full or unreachable server.

    ``await join_team(orch, "demo-fleet", "pod-7", ["research"], stop)`` -> False if ``stop`` came first.
    """
    from ..orchestration import AgentCoordinationState
    from ..worker.runner import BACK_OFF_ON, MAX_BACKOFF, MIN_BACKOFF

    backoff = MIN_BACKOFF
    while not stop.is_set():
        try:
            await orch.create_team(team, exist_ok=True)
            await orch.register_agent(team, AgentCoordinationState(agent_id=agent_id, capabilities=caps))
            return True
        except BACK_OFF_ON as exc:
            log.warning("joining team %s failed (%s); trying again in %.1f s", team, exc, backoff)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
    return False


async def run(args: argparse.Namespace) -> int:
    from ..errors import AgentStateError
    from ..orchestration import OrchestrationStateManager
    from ..worker import run_worker, stop_on_signals

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        seconds = parse_range(args.work_seconds)
    except ValueError as exc:
        print(f"agentstate worker: {exc}", file=sys.stderr)
        return 2
    agent_id = args.agent_id or socket.gethostname()
    caps = [c.strip() for c in args.capabilities.split(",") if c.strip()]
    backend = backend_from(args)
    orch = OrchestrationStateManager(
        backend=backend, lease=args.lease, sync_interval=max(0.1, min(args.lease / 3, 10.0))
    )
    stop = asyncio.Event()
    try:
        await check_access(backend)  # unreachable, refused credentials or ACL, an eviction policy refused: exit 1
        with stop_on_signals(stop):
            joined = await join_team(orch, args.team, agent_id, caps, stop)
        if not joined:
            print(f"agentstate worker {agent_id}: stopped before joining team {args.team}", flush=True)
            return 0
        print(
            f"agentstate worker {agent_id}: team {args.team} on {backend.describe()}, capabilities {caps or 'any'}",
            flush=True,
        )
        stats = await run_worker(
            orch,
            args.team,
            agent_id,
            SimulatedWork(agent_id, seconds, args.fail_rate),
            capabilities=caps or None,
            lease=args.lease,
            grace=args.grace,
            claim_wait=args.claim_wait,
            max_tasks=args.max_tasks or None,
            stop=stop,
            schedules=not args.no_scheduler,
        )
    except AgentStateError as exc:
        print(f"agentstate worker {agent_id}: {one_line(exc)}", file=sys.stderr, flush=True)
        return 1
    finally:
        await backend.close()
    print(
        f"agentstate worker {agent_id}: stopped (claimed {stats.claimed}, completed {stats.completed}, "
        f"failed {stats.failed}, released {stats.released}, lost {stats.lost}, cancelled {stats.cancelled})",
        flush=True,
    )
    return 0

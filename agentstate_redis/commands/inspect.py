"""``agentstate inspect``: teams, queues, workflows, agents and state keys under a prefix, as tables or JSON."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from rich.console import Console
from rich.table import Table

from .common import add_connection_options, backend_from, check_access, require_keys
from .parsing import Subparsers, command_parser
from .queue import limits_line

#: Columns that hold ids: never cut, folded onto more lines on a narrow terminal instead.
ID_COLUMNS = ("team", "workflow", "agent", "latest_checkpoint")
#: Width when stdout is not a terminal (a pipe, a file, CI logs): tables take the width they need.
UNBOUNDED = 100_000

T = TypeVar("T")


HELP = "print teams, queues, workflows and agents"
DESCRIPTION = """Find every team, workflow and agent under the prefix (SCAN, on every primary) and print their state
as tables, or as JSON with --json. Exits 1, naming the prefixes in use, when nothing is stored under --prefix."""


def add_parser(sub: Subparsers) -> None:
    p = command_parser(sub, "inspect", run, help=HELP, description=DESCRIPTION)
    add_connection_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    p.add_argument("--limit", type=int, default=100, help="at most this many entities of each kind (default 100)")


async def _ids(backend: Any, kind: str, limit: int) -> list[str]:
    found: set[str] = set()
    async for key in backend.scan(backend.keys.entity_pattern(kind, "*") + "*"):
        parsed = backend.keys.parse_entity(key)
        if parsed and parsed[0] == kind:
            found.add(parsed[1])
    return sorted(found)[:limit]


async def _existing(backend: Any, kind: str, limit: int, get: Callable[[str], Awaitable[T]]) -> list[tuple[str, T]]:
    """``(id, get(id))`` for the ids of ``kind`` found by SCAN, less those deleted before ``get`` read them.

    ``await _existing(backend, "wf", 100, workflows.get)`` -> ``[("wf-1", WorkflowState(...)), ...]``
    """
    from ..errors import NotFoundError

    found = []
    for entity_id in await _ids(backend, kind, limit):
        try:
            found.append((entity_id, await get(entity_id)))
        except NotFoundError:
            continue
    return found


async def collect(backend: Any, limit: int = 100) -> dict[str, Any]:
    from ..agents import AgentStateStore
    from ..orchestration import OrchestrationStateManager
    from ..state import StateManager
    from ..workflows import WorkflowStateManager

    orch = OrchestrationStateManager(backend=backend)
    workflows = WorkflowStateManager(backend=backend)
    agents = AgentStateStore(backend=backend)
    teams = []
    for team_id, team in await _existing(backend, "team", limit, orch.get_team):
        q = await orch.get_queue_status(team_id, page_size=1)
        limits = "; ".join(limits_line(r) for r in await orch.get_team_limits(team_id))
        teams.append(
            {
                "team": team_id,
                "agents": len(team.agents),
                "online": sum(1 for a in team.agents.values() if a.online),
                "working": sum(1 for a in team.agents.values() if a.status == "working"),
                "pending": q.pending_count,
                "in_progress": q.in_progress_count,
                "retry": q.scheduled_count,
                "delayed": q.delayed_count,
                "waiting": q.waiting_count,
                "completed": q.completed_total,
                "dead": q.dead_count,
                "cancelled": q.cancelled_total,
                "paused": q.paused,
                "limits": limits,
            }
        )
    wfs = []
    for wf_id, wf in await _existing(backend, "wf", limit, workflows.get):
        wfs.append(
            {
                "workflow": wf_id,
                "status": wf.status.value,
                "step": wf.current_step,
                "total_steps": wf.total_steps,
                "completed_steps": wf.completed_steps,
                "version": wf.version,
            }
        )
    agent_rows = []
    for agent_id in await _ids(backend, "agent", limit):
        counts = await agents.get_tool_usage_counts(agent_id)
        checkpoints = await agents.list_checkpoints(agent_id, limit=1)
        agent_rows.append(
            {
                "agent": agent_id,
                "tool_uses": sum(counts.values()),
                "tools": len(counts),
                "latest_checkpoint": checkpoints[0].checkpoint_id if checkpoints else None,
                "latest_step": checkpoints[0].step if checkpoints else None,
            }
        )
    state_keys = await StateManager(backend=backend).list_keys()
    return {
        "prefix": backend.keys.prefix,
        "teams": teams,
        "workflows": wfs,
        "agents": agent_rows,
        "state_keys": len(state_keys),
    }


def _table(title: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in rows[0]:
        if column in ID_COLUMNS:
            table.add_column(column, justify="left", overflow="fold")
        else:
            table.add_column(column, justify="left" if column == "status" else "right")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    return table


async def run(args: argparse.Namespace) -> int:
    backend = backend_from(args)
    try:
        await check_access(backend)
        await require_keys(backend)
        data = await collect(backend, args.limit)
    finally:
        await backend.close()
    if args.json:
        print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return 0
    console = Console() if sys.stdout.isatty() else Console(width=UNBOUNDED)
    console.print(f"[bold]{backend.describe()}[/], prefix {data['prefix']!r}: {data['state_keys']} state keys")
    for title, key in (("Teams and queues", "teams"), ("Workflows", "workflows"), ("Agents", "agents")):
        if data[key]:
            console.print(_table(title, data[key]))
        else:
            console.print(f"{title}: none")
    return 0

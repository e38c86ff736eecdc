"""GET / : teams with their task counts, workflows by status, agents online, the event rate."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import NotFoundError
from ...workflows import WorkflowStatus
from ..render import render
from .common import PAGE, fleet


async def team_rows(request: Request, ids: list[str]) -> list[dict[str, Any]]:
    """One read per team (counts and agents, no task pages); teams gone since they were seen are left out."""
    orch = fleet(request).orch

    async def one(team_id: str) -> dict[str, Any] | None:
        try:
            team = await orch.get_team(team_id)
        except NotFoundError:
            return None
        agents = list(team.agents.values())
        return {
            "id": team_id,
            "queue": team.task_queue,
            "agents": len(agents),
            "online": sum(1 for a in agents if a.online),
            "working": sum(1 for a in agents if a.status == "working"),
        }

    return [row for row in await asyncio.gather(*(one(t) for t in ids)) if row is not None]


async def workflow_counts(request: Request) -> dict[str, int]:
    wf = fleet(request).workflows
    counts = await asyncio.gather(*(wf.count_workflows(s) for s in WorkflowStatus))
    return {s.value: n for s, n in zip(WorkflowStatus, counts)}


async def overview(request: Request) -> Response:
    f = fleet(request)
    after = request.query_params.get("after") or None
    ids = f.directory.page("team", after, PAGE)
    teams, workflows = await asyncio.gather(team_rows(request, ids), workflow_counts(request))
    return render(
        request,
        "overview.html",
        title="Overview",
        teams=teams,
        workflows=workflows,
        team_count=f.directory.count("team"),
        more=(len(ids) == PAGE and ids[-1]) or None,
        agents_online=sum(t["online"] for t in teams),
        agents_total=sum(t["agents"] for t in teams),
        rate=f.feed.rate(),
        feed_live=f.feed.started,
        directory=f.directory,
        backend=f.backend.describe(),
    )


routes = [Route("/", overview, name="overview")]

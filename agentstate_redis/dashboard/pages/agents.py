"""Agents: every listed team's agents (online or not, last heartbeat, current task) and the
agents that track activity (standing approval decisions, tool usage counts, checkpoints).

    GET /agents?after=<team id>          team agents, PAGE teams at a time; tracked agents below
    GET /agent?agent=A[&team=T]          one agent in full (its team membership when team= is given)
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import NotFoundError
from ..render import render
from .common import PAGE, fleet, text_param

#: Teams whose agents one page lists (each team is one read of all its agents).
TEAMS_PER_PAGE = 10
#: Checkpoints and approval records shown for one agent.
RECENT = 20


async def agents_page(request: Request) -> Response:
    f = fleet(request)
    after = request.query_params.get("after") or None
    team_ids = f.directory.page("team", after, TEAMS_PER_PAGE)

    async def team_agents(team_id: str) -> tuple[str, list[Any]]:
        try:
            return team_id, await f.orch.get_agents(team_id)
        except NotFoundError:
            return team_id, []

    teams = await asyncio.gather(*(team_agents(t) for t in team_ids))
    tracked_after = request.query_params.get("tracked_after") or None
    tracked_ids = f.directory.page("agent", tracked_after, PAGE)

    async def tracked(agent_id: str) -> dict[str, Any]:
        usage, decisions = await asyncio.gather(
            f.agents.get_tool_usage_counts(agent_id), f.agents.get_standing_decisions(agent_id)
        )
        return {"id": agent_id, "uses": sum(usage.values()), "tools": len(usage), "decisions": decisions}

    rows = await asyncio.gather(*(tracked(a) for a in tracked_ids))
    return render(
        request,
        "agents.html",
        title="Agents",
        teams=teams,
        more_teams=(len(team_ids) == TEAMS_PER_PAGE and team_ids[-1]) or None,
        tracked=rows,
        more_tracked=(len(tracked_ids) == PAGE and tracked_ids[-1]) or None,
    )


async def agent_page(request: Request) -> Response:
    f = fleet(request)
    agent_id = text_param(request, "agent")
    team_id = request.query_params.get("team", "")
    membership = None
    if team_id:
        try:
            membership = next((a for a in await f.orch.get_agents(team_id) if a.agent_id == agent_id), None)
        except NotFoundError:
            raise HTTPException(404, f"team {team_id!r} not found") from None
    usage, decisions, checkpoints, approvals, workflow = await asyncio.gather(
        f.agents.get_tool_usage_counts(agent_id),
        f.agents.get_standing_decisions(agent_id),
        f.agents.list_checkpoints(agent_id, limit=RECENT),
        f.agents.get_approval_history(agent_id, limit=RECENT, newest_first=True),
        f.agents.get_workflow_state(agent_id),
    )
    return render(
        request,
        "agent.html",
        title=f"Agent {agent_id}",
        agent_id=agent_id,
        team_id=team_id,
        membership=membership,
        usage=sorted(usage.items()),
        decisions=sorted(decisions.items()),
        checkpoints=checkpoints,
        approvals=approvals,
        workflow=workflow,
        recent=RECENT,
    )


routes = [Route("/agents", agents_page, name="agents"), Route("/agent", agent_page, name="agent")]

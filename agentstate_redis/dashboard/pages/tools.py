"""Tools: stats (executions, success rate, cache hit rate), the pending retries, one tool's history.

    GET /tools?after=<tool name>
    GET /tool?tool=N
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..render import render
from .common import PAGE, fleet, text_param

HISTORY = 50


async def tools_page(request: Request) -> Response:
    f = fleet(request)
    after = request.query_params.get("after") or None
    names = f.directory.page("tool", after, PAGE)
    stats, retries = await asyncio.gather(asyncio.gather(*(f.tools.get_tool_stats(n) for n in names)),
                                          f.tools.get_pending_retries(claim=False, limit=PAGE + 1))
    return render(request, "tools.html", title="Tools", stats=stats, more=(len(names) == PAGE and names[-1]) or None,
                  retries=retries[:PAGE], more_retries=len(retries) > PAGE)


async def tool_page(request: Request) -> Response:
    f = fleet(request)
    name = text_param(request, "tool")
    stats, history = await asyncio.gather(f.tools.get_tool_stats(name), f.tools.get_execution_history(name, HISTORY))
    return render(request, "tool.html", title=f"Tool {name}", stats=stats, history=history)


routes = [Route("/tools", tools_page, name="tools"), Route("/tool", tool_page, name="tool")]

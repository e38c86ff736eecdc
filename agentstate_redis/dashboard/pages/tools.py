"""Tools: stats (executions, success rate, cache hit rate), the pending retries, one tool's history.

    GET /tools?after=<tool name>&offset=<retries offset>
    GET /tool?tool=N

The pending retries come a page at a time from ``ToolStateManager.list_retries`` (earliest due
first, one script of O(log N + page)) and their totals from ``count_retries``.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..render import render
from .common import PAGE, fleet, int_param, text_param

HISTORY = 50


async def tools_page(request: Request) -> Response:
    f = fleet(request)
    after = request.query_params.get("after") or None
    offset = int_param(request, "offset", 0)
    names = f.directory.page("tool", after, PAGE)
    stats, retries, (scheduled, due) = await asyncio.gather(
        asyncio.gather(*(f.tools.get_tool_stats(n) for n in names)),
        f.tools.list_retries(offset=offset, limit=PAGE + 1),
        f.tools.count_retries(),
    )
    return render(
        request,
        "tools.html",
        title="Tools",
        stats=stats,
        after=after,
        more=(len(names) == PAGE and names[-1]) or None,
        retries=retries[:PAGE],
        more_retries=len(retries) > PAGE,
        offset=offset,
        page=PAGE,
        scheduled=scheduled,
        due=due,
    )


async def tool_page(request: Request) -> Response:
    f = fleet(request)
    name = text_param(request, "tool")
    stats, history = await asyncio.gather(f.tools.get_tool_stats(name), f.tools.get_execution_history(name, HISTORY))
    return render(request, "tool.html", title=f"Tool {name}", stats=stats, history=history)


routes = [Route("/tools", tools_page, name="tools"), Route("/tool", tool_page, name="tool")]

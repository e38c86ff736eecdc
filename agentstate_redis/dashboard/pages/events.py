"""The live event feed: GET /events (the page; the newest events server-side, more as they come
with JavaScript) and GET /events/stream (server-sent events)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ..render import render
from .common import fleet


async def events_page(request: Request) -> Response:
    f = fleet(request)
    return render(
        request,
        "events.html",
        title="Live events",
        recent=list(f.feed.recent),
        rate=f.feed.rate(),
        live=f.feed.started,
        feed_error=f.feed.error,
    )


async def events_stream(request: Request) -> Response:
    return StreamingResponse(
        fleet(request).feed.stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


routes = [Route("/events", events_page, name="events"), Route("/events/stream", events_stream, name="events_stream")]

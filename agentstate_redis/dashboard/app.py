"""The app factory: :func:`create_app` (pages, actions, /metrics, /healthz) and :func:`metrics_app`
(/metrics and /healthz alone). Both are Starlette apps that run under any ASGI server or mount
under a base path of another app; each shares one backend connection among all its requests and
closes it on shutdown (the app's lifespan).

    >>> app = create_app(redis_url="redis://localhost:6379/0", key_prefix="agentstate:", read_only=True)
    >>> api = FastAPI(lifespan=app.router.lifespan_context)   # the mounted app's startup and shutdown
    >>> api.mount("/ops", app)                                # pages at /ops/, metrics at /ops/metrics
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from ..backends.base import Backend
from ..errors import AgentStateError, BackendUnavailableError, InvalidInputError, OutcomeUnknownError
from .directory import DEFAULT_SWEEP_INTERVAL
from .fleet import Fleet
from .metrics import metrics
from .pages import agents as agent_pages
from .pages import events as event_pages
from .pages import overview as overview_pages
from .pages import teams as team_pages
from .pages import tools as tool_pages
from .pages import workflows as workflow_pages
from .render import render
from .security import Guard, Security, login_response, safe_next

log = logging.getLogger(__name__)


def create_app(
    *,
    redis_url: str | None = None,
    key_prefix: str = "agentstate:",
    backend: Backend | None = None,
    token: str | None = None,
    read_only: bool = False,
    allowed_hosts: Sequence[str] | None = None,
    teams: Iterable[str] = (),
    agents: Iterable[str] = (),
    tools: Iterable[str] = (),
    sweep_interval: float = DEFAULT_SWEEP_INTERVAL,
    offline_after: float = 10.0,
    **settings: Any,
) -> Starlette:
    """The dashboard as an ASGI app.

    ``backend=`` shares one you own (left open); otherwise the app connects to ``redis_url`` under
    ``key_prefix`` and closes that connection on shutdown. ``token``: every page and /metrics need
    it (``Authorization: Bearer`` or the login form); ``read_only``: no actions are shown and every
    write answers 403; ``allowed_hosts``: Host headers accepted (e.g. ``["localhost", "127.0.0.1"]``
    against DNS rebinding; None = any). ``teams``/``agents``/``tools``: ids to list from the start;
    others are learnt from events and a background SCAN every ``sweep_interval`` seconds (0 = never;
    see directory.py). ``offline_after``: the fleet's heartbeat silence that shows an agent offline.
    Other keywords are backend settings (``retry_seconds=``, ...).
    """
    fleet = Fleet.connect(
        redis_url=redis_url,
        key_prefix=key_prefix,
        backend=backend,
        teams=teams,
        agents=agents,
        tools=tools,
        sweep_interval=sweep_interval,
        offline_after=offline_after,
        **settings,
    )
    routes: list[BaseRoute] = [
        *overview_pages.routes,
        *team_pages.routes,
        *agent_pages.routes,
        *workflow_pages.routes,
        *tool_pages.routes,
        *event_pages.routes,
        *_operations_routes(),
        Route("/login", login, methods=["GET", "POST"], name="login"),
        Route("/logout", logout, methods=["POST"], name="logout"),
        Mount("/static", StaticFiles(packages=[("agentstate_redis.dashboard", "static")]), name="static"),
    ]
    return _app(fleet, routes, Security(token=_token(token), read_only=bool(read_only)), allowed_hosts)


def metrics_app(
    *,
    redis_url: str | None = None,
    key_prefix: str = "agentstate:",
    backend: Backend | None = None,
    token: str | None = None,
    teams: Iterable[str] = (),
    tools: Iterable[str] = (),
    sweep_interval: float = DEFAULT_SWEEP_INTERVAL,
    offline_after: float = 10.0,
    **settings: Any,
) -> Starlette:
    """``GET /metrics`` and ``GET /healthz`` without the pages (same arguments as :func:`create_app`)."""
    fleet = Fleet.connect(
        redis_url=redis_url,
        key_prefix=key_prefix,
        backend=backend,
        teams=teams,
        tools=tools,
        sweep_interval=sweep_interval,
        offline_after=offline_after,
        **settings,
    )
    return _app(fleet, _operations_routes(), Security(token=_token(token), read_only=True), None)


def _token(token: str | None) -> str | None:
    if token is not None and (not isinstance(token, str) or len(token) < 8):
        raise InvalidInputError("token must be a string of at least 8 characters")
    return token


def _operations_routes() -> list[BaseRoute]:
    return [Route("/metrics", metrics, name="metrics"), Route("/healthz", healthz, name="healthz")]


def _app(fleet: Fleet, routes: list[BaseRoute], security: Security, allowed_hosts: Sequence[str] | None) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:  # also the lifespan of an app that mounts this one
        await starter.ensure()
        try:
            yield
        finally:
            await fleet.close()

    starter = _Starter(fleet)
    middleware = [Middleware(_StartOnFirstRequest, starter=starter), Middleware(Guard, security=security)]
    if allowed_hosts:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, AgentStateError: _library_error},
    )
    app.state.fleet = fleet
    app.state.security = security
    app.state.ui = any(getattr(r, "name", None) == "overview" for r in routes)
    return app


class _Starter:
    """Starts the fleet once: in the lifespan, or on the first request of an app whose lifespan
    was not run (mounted without passing it on)."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self._lock = asyncio.Lock()

    async def ensure(self) -> None:
        if self.fleet.started:
            return
        async with self._lock:
            if not self.fleet.started:
                await self.fleet.start()


class _StartOnFirstRequest:
    def __init__(self, app: ASGIApp, starter: _Starter) -> None:
        self.app, self.starter = app, starter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.starter.fleet.started:
            await self.starter.ensure()
        await self.app(scope, receive, send)


async def healthz(request: Request) -> Response:
    """200 when the server answers a read through the scripts, 503 (with the reason) when not."""
    fleet: Fleet = request.app.state.fleet
    try:
        await fleet.workflows.count_workflows("running")
    except AgentStateError as exc:
        return JSONResponse({"ok": False, "error": str(exc)}, status_code=503)
    return JSONResponse({"ok": True, "backend": fleet.backend.describe(), "live": fleet.feed.started})


async def login(request: Request) -> Response:
    security: Security = request.app.state.security
    target = safe_next(request, request.query_params.get("next", ""))
    if security.token is None:
        return render(request, "login.html", title="Log in", target=target, failed=False, needed=False)
    if request.method == "GET":
        return render(request, "login.html", title="Log in", target=target, failed=False, needed=True)
    form = await request.form()
    given, target = form.get("token"), safe_next(request, str(form.get("next") or ""))
    if isinstance(given, str) and security.token_matches(given):
        return login_response(request, security, target)
    return render(request, "login.html", title="Log in", target=target, failed=True, needed=True, status_code=401)


async def logout(request: Request) -> Response:
    from .security import SESSION_COOKIE, cookie_path

    response = PlainTextResponse("logged out", status_code=303, headers={"location": request.url_for("login").path})
    response.delete_cookie(SESSION_COOKIE, path=cookie_path(request.scope))
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if "text/html" not in request.headers.get("accept", "") or not request.app.state.ui:
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code)
    return render(
        request, "error.html", title=f"Error {exc.status_code}", detail=exc.detail, status_code=exc.status_code
    )


async def _library_error(request: Request, exc: Exception) -> Response:
    status = 503 if isinstance(exc, (BackendUnavailableError, OutcomeUnknownError)) else 400
    if "text/html" not in request.headers.get("accept", "") or not request.app.state.ui:
        return PlainTextResponse(str(exc), status_code=status)
    return render(request, "error.html", title=f"Error {status}", detail=str(exc), status_code=status)

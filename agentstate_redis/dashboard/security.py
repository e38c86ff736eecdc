"""Who may look, who may act: the token, the login cookie, CSRF, read-only mode.

    >>> app = create_app(redis_url=url, token="s3cret")           # every page needs the token
    >>> httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer s3cret"})

- With a token, a request is let in by ``Authorization: Bearer <token>`` or by the session
  cookie the login form sets (HttpOnly, SameSite=Strict, an HMAC of the token, never the token
  itself). Without one, pages are open (the command only allows that on a loopback address
  unless told that auth sits in front). ``/healthz``, ``/login`` and static files are always open.
- Every write (a POST that calls a manager) is refused with 403 in read-only mode, and
  otherwise needs a same-origin request (``Origin``/``Sec-Fetch-Site`` when the browser sends
  them) carrying the CSRF token: the ``agentstate_csrf`` cookie's value echoed in the form
  field ``csrf`` or the ``X-CSRF-Token`` header (double submit; another site can neither read
  the cookie nor set it). A request authenticated by its Authorization header carries no
  ambient credential, so it needs no CSRF token.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "agentstate_session"
CSRF_COOKIE = "agentstate_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
#: Paths (relative to the dashboard's base path) open without the token.
OPEN_PATHS = ("/healthz", "/login")
OPEN_PREFIXES = ("/static/",)
#: Sent with every response: no framing (clickjacking of the action buttons), scripts and styles
#: from this origin only, no type sniffing, no referrer to other sites.
HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


@dataclass(frozen=True)
class Security:
    token: str | None = None
    read_only: bool = False

    @property
    def session_value(self) -> str | None:
        """The login cookie's value: an HMAC of the token, so the cookie never holds the token."""
        if self.token is None:
            return None
        return hmac.new(self.token.encode(), b"agentstate-dashboard-session", hashlib.sha256).hexdigest()

    def token_matches(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def bearer_ok(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self.token_matches(value.strip())

    def authenticated(self, request: Request) -> bool:
        if self.token is None:
            return True
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return self.bearer_ok(request) or hmac.compare_digest(cookie.encode(), (self.session_value or "").encode())


def relative_path(scope: Scope) -> str:
    """The request path below the dashboard's base path (where it is mounted)."""
    path, root = scope.get("path", "/"), scope.get("root_path", "")
    return (path[len(root) :] or "/") if root and path.startswith(root) else path


def cookie_path(scope: Scope) -> str:
    return scope.get("root_path") or "/"


class Guard:
    """ASGI middleware: the token check and the CSRF cookie (issued on the first visit)."""

    def __init__(self, app: ASGIApp, security: Security) -> None:
        self.app = app
        self.security = security

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = relative_path(scope)
        is_open = path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)
        if not is_open and not self.security.authenticated(request):
            await self._refuse(request, path)(scope, receive, send)
            return
        csrf = request.cookies.get(CSRF_COOKIE)
        fresh = None
        if not csrf or len(csrf) != 43:
            csrf = fresh = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf"] = csrf

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = Response()
                if fresh:
                    extra.set_cookie(
                        CSRF_COOKIE,
                        fresh,
                        path=cookie_path(scope),
                        samesite="strict",
                        secure=scope.get("scheme") == "https",
                        httponly=True,
                    )
                headers = [
                    *message.get("headers", []),
                    *HEADERS,
                    *(h for h in extra.raw_headers if h[0] == b"set-cookie"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _refuse(self, request: Request, path: str) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            here = request.url.path + ("?" + request.url.query if request.url.query else "")
            login = str(request.url_for("login").include_query_params(next=here))
            return RedirectResponse(login, status_code=303)
        return PlainTextResponse(
            "a token is required (Authorization: Bearer <token>, or log in)",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="agentstate dashboard"'},
        )


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site (or an opaque origin)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser, or an old one: the CSRF token still guards the write
    host = request.headers.get("host", "")
    return bool(host) and origin in (f"http://{host}", f"https://{host}")


async def csrf_ok(request: Request) -> bool:
    expected = request.cookies.get(CSRF_COOKIE, "")
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else ""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


Handler = Callable[[Request], Awaitable[Response]]


def write_route(handler: Handler) -> Handler:
    """Mark a route as a write: 403 in read-only mode, 403 without a same-origin CSRF token."""

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        security: Security = request.app.state.security
        if security.read_only:
            return PlainTextResponse("the dashboard is read-only", status_code=403)
        if not same_origin(request):
            return PlainTextResponse("cross-site request refused", status_code=403)
        if not (security.token is not None and security.bearer_ok(request)) and not await csrf_ok(request):
            return PlainTextResponse("missing or wrong CSRF token; reload the page and try again", status_code=403)
        return await handler(request)

    guarded.is_write = True  # type: ignore[attr-defined]  # a marker attribute on the function
    return guarded


def csrf_token(request: Request) -> str:
    return str(request.scope.get("state", {}).get("csrf", ""))


def client_scheme_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def login_response(request: Request, security: Security, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        security.session_value or "",
        path=cookie_path(request.scope),
        httponly=True,
        samesite="strict",
        secure=client_scheme_secure(request),
    )
    return response


def safe_next(request: Request, target: str) -> str:
    """Only a path on this server (no scheme, no //host): the login form cannot redirect elsewhere."""
    home = str(request.url_for("overview").path)
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return home
    return target

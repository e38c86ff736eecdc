"""HTML pages from Jinja2 templates, autoescaped: every id, value and message is text, never markup.

>>> return render(request, "team.html", title=f"team {team_id}", team=team)
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from urllib.parse import urlencode

import jinja2
import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse

from .security import CSRF_FIELD, csrf_token

ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("agentstate_redis.dashboard", "templates"),
    autoescape=True,  # every template, whatever its name: ids and values come from users
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

#: The navigation bar: (route name, label).
NAV = (
    ("overview", "Overview"),
    ("dead", "Dead letters"),
    ("agents", "Agents"),
    ("workflows", "Workflows"),
    ("tools", "Tools"),
    ("events", "Live events"),
)


def when(value: Any) -> str:
    """A time (epoch seconds or datetime) as UTC text with its age: '2024-05-01 12:00:03 (4 s ago)'."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.datetime):
        value = value.timestamp()
    stamp = dt.datetime.fromtimestamp(float(value), dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} ({ago(value)})"


def ago(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = value.timestamp()
    delta = time.time() - float(value)
    future = delta < 0
    delta = abs(delta)
    text = (
        f"{delta:.0f} s"
        if delta < 90
        else f"{delta / 60:.0f} min"
        if delta < 5400
        else f"{delta / 3600:.1f} h"
        if delta < 172800
        else f"{delta / 86400:.0f} d"
    )
    return f"in {text}" if future else f"{text} ago"


def as_json(value: Any) -> str:
    """A stored value, pretty-printed (the template escapes it)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str).decode()
    except TypeError:
        return repr(value)


ENV.filters.update(when=when, ago=ago, json=as_json)


def url(request: Request, name: str, **query: Any) -> str:
    """The path of route ``name`` (below the base path) with ``query`` (None and '' left out)."""
    path = request.url_for(name).path
    params = {k: v for k, v in query.items() if v is not None and v != ""}
    return path + "?" + urlencode(params, doseq=True) if params else path


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    security = request.app.state.security

    def link(name: str, **query: Any) -> str:
        return url(request, name, **query)

    def static(path: str) -> str:
        return request.url_for("static", path=path).path

    html = ENV.get_template(template).render(
        request=request,
        url=link,
        static=static,
        csrf=csrf_token(request),
        csrf_field=CSRF_FIELD,
        read_only=security.read_only,
        token_auth=security.token is not None,
        nav=NAV,
        message=request.query_params.get("msg", ""),
        error=request.query_params.get("err", ""),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)

"""What every page uses: the fleet, bounded query parameters, posted form fields, and the redirect after a write.

>>> offset = int_param(request, "offset", 0, maximum=MAX_OFFSET)
>>> team_id, action = form_text(form, "team"), form_action(form, ("pause", "resume"))
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse

from ..fleet import Fleet

#: Rows per page of every listing.
PAGE = 50
#: The deepest offset a listing may be paged to. Pending tasks are merged from one sorted set
#: per capability, so a page at offset N reads N + PAGE ids of each: bounded, but not free.
MAX_OFFSET = 10_000


def fleet(request: Request) -> Fleet:
    fleet: Fleet = request.app.state.fleet
    return fleet


def int_param(request: Request, name: str, default: int, *, minimum: int = 0, maximum: int = MAX_OFFSET) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(400, f"{name} must be a whole number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise HTTPException(400, f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def text_param(request: Request, name: str, *, required: bool = True) -> str:
    value = request.query_params.get(name, "")
    if required and not value:
        raise HTTPException(400, f"the query parameter {name!r} is required")
    return value


def form_text(form: FormData, name: str) -> str:
    """A required text field of a posted form; 400 naming the field when it is missing or empty."""
    value = form.get(name)
    if not isinstance(value, str) or not value:
        raise HTTPException(400, f"the form field {name!r} is required")
    return value


def form_action(form: FormData, allowed: tuple[str, ...]) -> str:
    """The form's ``action``, one of ``allowed``; 400 listing them otherwise."""
    action = form.get("action")
    if not isinstance(action, str) or action not in allowed:
        choices = f"{', '.join(allowed[:-1])} or {allowed[-1]}" if len(allowed) > 1 else allowed[0]
        raise HTTPException(400, f"action must be {choices}, got {action!r}")
    return action


def cancel_reason(form: FormData) -> str:
    """The reason a cancel form gives, or the dashboard's own when it gives none."""
    reason = form.get("reason")
    return reason if isinstance(reason, str) and reason else "cancelled from the dashboard"


def back(request: Request, name: str, *, msg: str = "", err: str = "", **query: Any) -> RedirectResponse:
    """303 to a page after a write (POST/redirect/GET), with its message shown there."""
    from ..render import url

    return RedirectResponse(url(request, name, msg=msg or None, err=err or None, **query), status_code=303)

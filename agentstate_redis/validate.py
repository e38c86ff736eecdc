"""Checks of arguments and settings, shared by every manager.

Every check raises InvalidInputError naming the argument (``what``) and returns the value
in the form the caller stores. Numbers are bounded: an integer (a count, limit, offset or
token) is at most ``MAX_INTEGER`` (2**53 - 1, exact in a double and in Lua), a duration in
seconds at most ``MAX_SECONDS`` (10 years), so nothing infinite or huge reaches Redis.

    >>> positive_number("lease", 30)
    30.0
    >>> integer("max_attempts", 0)
    Traceback (most recent call last):
    InvalidInputError: max_attempts must be an integer >= 1, got 0
    >>> milliseconds("ttl", 1.5)
    1500
    >>> boolean("upsert", "no")
    Traceback (most recent call last):
    InvalidInputError: upsert must be True or False, got 'no'
    >>> fencing_token(None, optional=True), fencing_token(7)
    ('', '7')

Model parameters (``save_snapshot(snapshot)``, ``start_execution(execution)``, ...) follow one
policy, ``model(what, cls, value)``: every manager takes the model itself or a dict of its
fields, which is validated as the model (``cls.parse``); anything else is refused naming the
parameter. Names: ``name`` for what is stored or keyed by (owner, tool, checkpoint id),
``label`` for a short newline-free word the scripts join with newlines (capabilities, statuses).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from .errors import InvalidInputError
from .model import Model
from .patterns import utf8

M = TypeVar("M", bound=Model)

#: The largest integer argument accepted (2**53 - 1).
MAX_INTEGER = 2**53 - 1
#: The longest duration accepted, in seconds (10 years).
MAX_SECONDS = 10 * 365 * 24 * 3600.0
#: The longest name (owner, checkpoint id, ...) accepted, in characters; ids in keys have the same limit.
MAX_NAME_CHARS = 1024


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}...<{len(text)} chars>"


def positive_number(what: str, value: Any, *, allow_zero: bool = False, maximum: float = MAX_SECONDS) -> float:
    """A finite number > 0 (>= 0 with ``allow_zero``) and <= ``maximum``, as a float.

    Bools, NaN and infinities are refused. ``maximum`` defaults to ``MAX_SECONDS``: every
    positive number the library takes is a duration in seconds.
    """
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value >= 0 if allow_zero else value > 0)
        and value <= maximum
    )
    if not ok:
        raise InvalidInputError(
            f"{what} must be a {'non-negative' if allow_zero else 'positive'} finite number "
            f"<= {maximum:g}, got {_short(value)}"
        )
    return float(value)


def milliseconds(what: str, seconds: Any) -> int:
    """A positive duration in seconds (see ``positive_number``) as whole milliseconds (at least 1)."""
    return max(1, int(positive_number(what, seconds) * 1000))


def fencing_token(value: Any, *, optional: bool = False) -> str:
    """A fencing token from ``acquire_lease`` (an int from 1 to ``MAX_INTEGER``) as the text the
    scripts take; with ``optional``, ``None`` is ``""`` (the call carries no token)."""
    if value is None and optional:
        return ""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INTEGER:
        raise InvalidInputError(f"fencing_token must be a positive integer from acquire_lease, got {_short(value)}")
    return str(value)


def integer(what: str, value: Any, *, minimum: int = 1, maximum: int = MAX_INTEGER) -> int:
    """An int with ``minimum <= value <= maximum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        bound = f" and <= {maximum}" if isinstance(value, int) and value > maximum else ""
        raise InvalidInputError(f"{what} must be an integer >= {minimum}{bound}, got {_short(value)}")
    return value


def boolean(what: str, value: Any) -> bool:
    """``True`` or ``False`` only: a flag is never taken by truthiness (``"no"`` is not False)."""
    if not isinstance(value, bool):
        raise InvalidInputError(f"{what} must be True or False, got {_short(value)}")
    return value


def text(
    what: str, value: Any, *, max_chars: int | None = None, max_bytes: int | None = None, empty: bool = True
) -> str:
    """A str (non-empty unless ``empty``), of at most ``max_chars`` characters and ``max_bytes``
    UTF-8 bytes when given (pass the backend's ``max_value_bytes`` for free text that is stored)."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    if not empty and not value:
        raise InvalidInputError(f"{what} must not be empty")
    if max_chars is not None and len(value) > max_chars:
        raise InvalidInputError(f"{what} is {len(value)} characters, the maximum is {max_chars}")
    if max_bytes is not None and len(value) * 4 > max_bytes and len(value.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InvalidInputError(
            f"{what} is {len(value.encode('utf-8', 'surrogatepass'))} bytes, "
            f"the maximum is {max_bytes} (max_value_bytes)"
        )
    if not value.isascii():
        utf8(what, value)  # a lone surrogate cannot be sent
    return value


def name(what: str, value: Any, *, max_chars: int = MAX_NAME_CHARS) -> str:
    """A non-empty str of at most ``max_chars`` (1024) characters: an owner, a tool or checkpoint name."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{what} must be a non-empty string, got {_short(value)}")
    if len(value) > max_chars:
        raise InvalidInputError(f"{what} is {len(value)} characters, the maximum is {max_chars}")
    if not value.isascii():
        utf8(what, value)  # a lone surrogate cannot be sent
    return value


def label(what: str, value: Any, *, max_chars: int = 256) -> str:
    """A non-empty str of at most ``max_chars`` (256) characters without newlines: a capability
    or a status, which the scripts carry newline-joined."""
    if not isinstance(value, str) or not value or "\n" in value or len(value) > max_chars:
        raise InvalidInputError(f"{what} must be 1-{max_chars} characters without newlines, got {_short(value)}")
    return value


def model(what: str, cls: type[M], value: Any) -> M:
    """The model ``cls`` given as itself or as a mapping of its fields (validated as ``cls``).

    >>> model("snapshot", AgentSnapshot, {"agent_id": "a1", "snapshot_id": "s1", "state": {}})
    AgentSnapshot(agent_id='a1', snapshot_id='s1', ...)
    """
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        parsed: M = cls.parse(value)
        return parsed
    raise InvalidInputError(f"{what} must be a {cls.__name__} or a dict of its fields, got {type(value).__name__}")


def sequence(what: str, value: Any) -> list[Any]:
    """The items of a list, tuple or other iterable, as a list; one str/bytes or a mapping is refused."""
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise InvalidInputError(f"{what} must be a list, got {type(value).__name__}")
    return list(value)


def strings(what: str, value: Any) -> list[str]:
    """A list (or other iterable, see ``sequence``) of non-empty strings, as a list."""
    items = sequence(what, value)
    for item in items:
        if not isinstance(item, str) or not item:
            raise InvalidInputError(f"{what} must hold non-empty strings only, got {_short(item)}")
        if not item.isascii():
            utf8(what, item)
    return items


def mapping(what: str, value: Any) -> Mapping[str, Any]:
    """A mapping (a dict); its content is checked when it is encoded."""
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{what} must be a JSON object (a dict), got {type(value).__name__}")
    return value


def callback(what: str, value: Any) -> Callable[..., Any]:
    """A callable."""
    if not callable(value):
        raise InvalidInputError(f"{what} must be callable, got {_short(value)}")
    return value  # type: ignore[no-any-return]  # callable() narrowed it; mypy keeps Any

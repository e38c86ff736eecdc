"""JSON encoding of user values (orjson), with the checks Redis cannot do for us.

    >>> dumps({"progress": 0.5})
    '{"progress":0.5}'
    >>> dumps({"x": float("nan")})
    Traceback (most recent call last):
    InvalidInputError: value is not JSON-serializable: NaN at $.x

Values travel to Lua as opaque strings; Lua never parses them.
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel

from .errors import InvalidInputError

DEFAULT_MAX_VALUE_BYTES = 8 * 1024 * 1024
#: Largest change event published whole (lua/lib/core.lua EVENT_MAX_BYTES); larger ones leave out big fields.
DEFAULT_MAX_EVENT_BYTES = 64 * 1024
#: The smallest ``max_event_bytes`` accepted: an event cut down to its small fields still fits.
MIN_MAX_EVENT_BYTES = 16 * 1024
_SCALARS = (str, bool, int, type(None), _dt.datetime, _dt.date, _dt.time, uuid.UUID, enum.Enum)


def check_json(value: Any, path: str = "$", what: str = "value") -> None:
    """Raise InvalidInputError if ``value`` would not survive a JSON round trip."""
    if isinstance(value, _SCALARS):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            name = "NaN" if math.isnan(value) else "-inf" if value < 0 else "inf"
            raise InvalidInputError(f"{what} is not JSON-serializable: {name} at {path}")
        return
    if isinstance(value, BaseModel):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(
                    f"{what} is not JSON-serializable: key {key!r} ({type(key).__name__}) at {path}"
                )
            check_json(item, f"{path}.{key}", what)
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_json(item, f"{path}[{i}]", what)
        return
    raise InvalidInputError(f"{what} is not JSON-serializable: {type(value).__name__} at {path}")


def json_default(obj: Any) -> Any:
    """orjson ``default=``: pydantic models as their JSON form, other mappings as dicts."""
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError


def encode(value: Any, *, max_bytes: int = DEFAULT_MAX_VALUE_BYTES, what: str = "value") -> bytes:
    """Encode ``value`` as compact JSON (UTF-8 bytes), refusing NaN, odd keys and oversized results.

        >>> encode({"progress": 0.5})
        b'{"progress":0.5}'

    orjson alone refuses what JSON cannot hold (non-str keys, sets, bytes; dataclasses are passed to
    ``json_default``, which refuses them as :func:`check_json` does) but writes NaN and infinities as
    ``null``; so the value is walked (:func:`check_json`, which names the path) only when the output has
    a ``null`` or orjson refused it: a large value without nulls is never walked in Python.
    """
    try:
        raw = orjson.dumps(value, default=json_default, option=orjson.OPT_PASSTHROUGH_DATACLASS)
    except (TypeError, orjson.JSONEncodeError) as exc:
        check_json(value, what=what)
        raise InvalidInputError(f"{what} is not JSON-serializable: {exc}") from None
    if b"null" in raw:
        check_json(value, what=what)
    if len(raw) > max_bytes:
        raise InvalidInputError(f"{what} is {len(raw)} bytes encoded, the maximum is {max_bytes}")
    return raw


def dumps(value: Any, *, max_bytes: int = DEFAULT_MAX_VALUE_BYTES, what: str = "value") -> str:
    """Encode ``value`` as compact JSON text, refusing NaN, odd keys and oversized results (see :func:`encode`)."""
    return encode(value, max_bytes=max_bytes, what=what).decode()


def loads(text: str | bytes | None) -> Any:
    """Decode JSON text stored by :func:`dumps`; None stays None."""
    if text is None:
        return None
    return orjson.loads(text)

"""The canonical hash of a tool call's parameters: the cache key of its result.

    >>> hash_parameters({"query": "AI news", "limit": 10})
    '3b0a...'  # 64 hex digits
    >>> hash_parameters({"limit": 10, "query": "AI news"}) == hash_parameters({"query": "AI news", "limit": 10})
    True

The parameters are encoded as compact JSON with every object's keys sorted
(orjson, UTF-8, shortest round-trip floats), prefixed with a format version and
hashed with SHA-256. The result depends only on the JSON value, so it is the
same on every host, process and Python version. Note that ``1`` and ``1.0``
are different JSON texts and so different hashes; tuples hash like lists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson


from ..codec import check_json, json_default
from ..errors import InvalidInputError

#: Bump only together with a migration note: changing it invalidates every cached result.
HASH_VERSION = b"v1\n"


def canonical_json(parameters: Mapping[str, Any]) -> bytes:
    """The stable encoding that is hashed: sorted keys, compact, UTF-8."""
    if not isinstance(parameters, Mapping):
        raise InvalidInputError(f"parameters must be a dict, got {type(parameters).__name__}")
    check_json(parameters, "parameters")
    try:
        return orjson.dumps(dict(parameters), option=orjson.OPT_SORT_KEYS, default=json_default)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise InvalidInputError(f"parameters are not JSON-serializable: {exc}") from None


def hash_parameters(parameters: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``parameters``."""
    return hashlib.sha256(HASH_VERSION + canonical_json(parameters)).hexdigest()

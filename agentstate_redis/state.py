"""The core StateManager: versioned JSON objects with atomic partial updates and subscriptions.

    >>> state = StateManager(config=StateConfig(backend="redis", redis_url="redis://localhost:6379"))
    >>> await state.save("agent:researcher", {"status": "running", "progress": 0.45})
    1
    >>> await state.update("agent:researcher", {"progress": 0.75})
    2
    >>> await state.get("agent:researcher")
    {'status': 'running', 'progress': 0.75}
    >>> state.subscribe("agent:*", on_change)        # on_change(key, old_value, new_value)

Every top-level field is its own hash field, so ``update`` merges atomically
inside one script and two processes updating different fields never lose
each other's writes. Every write bumps the key's version; pass
``expected_version=`` to make it conditional (``0`` means "must not exist").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from . import validate
from .backends.base import Backend
from .codec import loads
from .config import StateConfig
from .errors import InvalidInputError
from .events import GapCallback, OmittedValue
from .subscription import DEFAULT_MAX_PENDING, Subscription
from .patterns import IdGlob, utf8
from .manager import BaseManager, Layout

#: ``callback(key, old_value, new_value)``: each value a dict, None (no value) or an OmittedValue (too large).
StateValue: TypeAlias = "dict[str, Any] | OmittedValue | None"
StateCallback = Callable[[str, StateValue, StateValue], Any]
_FIELD = "."


@dataclass(frozen=True)
class StateEntry:
    """A stored value with its version and remaining time to live (None = no expiry)."""

    key: str
    value: dict[str, Any]
    version: int
    ttl: float | None


def _fields(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{what} must be a JSON object (a dict), got {type(value).__name__}")
    return value


def _decode_hash(flat: Any) -> tuple[dict[str, Any], int] | None:
    """``[field, value, ...]`` of a stored hash -> (user dict, version); None if absent."""
    if not flat or isinstance(flat, dict):
        return None
    value: dict[str, Any] = {}
    version = 0
    for i in range(0, len(flat), 2):
        name, raw = flat[i], flat[i + 1]
        if name.startswith(_FIELD):
            value[name[1:]] = loads(raw)
        elif name == "#v":
            version = int(raw)
    return value, version


def _event_value(value: Any) -> dict[str, Any] | OmittedValue | None:
    """An event's ``old``/``new`` (a flat stored hash, False, or a marker) as the callback gets it."""
    if isinstance(value, OmittedValue):
        return value
    decoded = _decode_hash(value)
    return None if decoded is None else decoded[0]


def _pattern(pattern: Any) -> IdGlob:
    return IdGlob(pattern, what="pattern")


def _check_version(expected: int | None) -> str:
    if expected is None:
        return ""
    if isinstance(expected, bool) or not isinstance(expected, int) or expected < 0:
        raise InvalidInputError(f"expected_version must be a non-negative integer, got {expected!r}")
    return str(expected)


class StateManager(BaseManager):
    """Core state engine with pluggable backends (see the module docstring)."""

    kind = "state"
    #: Every state script takes KEYS data hash, ops, ops_prev, tombstone (``lua/lib/state.lua``).
    layout = Layout("state", "state", ("tomb",))

    def __init__(self, config: StateConfig | None = None, *, backend: Backend | None = None, **settings: Any) -> None:
        super().__init__(config=config, backend=backend, **settings)

    def _encode(self, key: str, value: Mapping[str, Any]) -> list[str]:
        """``['.name', encoded, ...]`` of a value or a change, whose total size (field names and
        encoded values, in UTF-8 bytes) is at most ``max_value_bytes``: the limit is on a whole
        value, and an update's merged total is checked again in Lua (lib/state.lua)."""
        args: list[str] = []
        chars = 0
        for name, item in value.items():
            if not isinstance(name, str):
                raise InvalidInputError(f"field names of {key!r} must be strings, got {name!r}")
            if not name.isascii():
                utf8(f"field name of {key!r}", name)
            try:
                encoded = self._dumps(item)
            except InvalidInputError:  # again, to name the field: the name is only formatted on failure
                encoded = self._dumps(item, what=f"field {name!r} of {key!r}")
            args += [_FIELD + name, encoded]
            chars += len(name) + len(encoded)
        limit = self.backend.max_value_bytes
        if chars * 4 > limit:  # a character is at most 4 bytes: only a value near the limit is measured
            size = sum(len(a) if a.isascii() else len(a.encode()) for a in args) - len(args) // 2
            if size > limit:
                raise InvalidInputError(
                    f"value of {key!r} is {size} bytes (field names and encoded values), the maximum is "
                    f"{limit} (max_value_bytes)",
                    kind="state",
                    id=key,
                    size=size,
                    limit=limit,
                )
        return args

    async def save(
        self, key: str, value: Mapping[str, Any], *, ttl: float | None = None, expected_version: int | None = None
    ) -> int:
        """Replace the whole value; returns the new version."""
        self._entity_keys(key)  # checks the key first (and builds its KEYS for the write)
        fields = self._encode(key, _fields(value, f"value for {key!r}"))
        return int(await self._write("save", key, _check_version(expected_version), self.backend.ttl_ms(ttl), *fields))

    async def update(
        self,
        key: str,
        changes: Mapping[str, Any],
        *,
        ttl: float | None = None,
        expected_version: int | None = None,
        upsert: bool = False,
    ) -> int:
        """Merge top-level fields into the stored value; returns the new version.

        A missing key raises NotFoundError unless ``upsert=True``, which creates it.
        The key's expiry is refreshed to ``ttl`` (or the backend default) when one is set.
        """
        self._entity_keys(key)
        fields = self._encode(key, _fields(changes, f"changes for {key!r}"))
        return int(
            await self._write(
                "update",
                key,
                _check_version(expected_version),
                self.backend.ttl_ms(ttl),
                "1" if validate.boolean("upsert", upsert) else "0",
                *fields,
            )
        )

    async def get_entry(self, key: str) -> StateEntry | None:
        """Value, version and ttl in one consistent read; None if the key does not exist."""
        reply = await self._read("get", key)
        decoded = _decode_hash(reply[1:])
        if decoded is None:
            return None
        pttl = int(reply[0])
        return StateEntry(key, decoded[0], decoded[1], pttl / 1000 if pttl > 0 else None)

    async def get(self, key: str, default: Any = None) -> dict[str, Any] | None:
        """The stored value (a fresh dict), or ``default`` if the key does not exist."""
        entry = await self.get_entry(key)
        return default if entry is None else entry.value

    async def get_version(self, key: str) -> int:
        """The key's current version; 0 if it does not exist."""
        entry = await self.get_entry(key)
        return 0 if entry is None else entry.version

    async def delete(self, key: str, *, expected_version: int | None = None) -> bool:
        """Delete the key; True if it existed."""
        self._entity_keys(key)
        return bool(await self._write("delete", key, _check_version(expected_version)) == "1")

    async def expire(self, key: str, ttl: float | None) -> None:
        """Set the key's time to live in seconds, or remove it with ``None``."""
        self._entity_keys(key)
        ms = 0 if ttl is None else self.backend.ttl_ms(ttl)
        await self._write("expire", key, ms, op_id="")

    async def list_keys(self, pattern: str = "*") -> list[str]:
        """Keys matching a Redis glob (``agent:*``), sorted; SCAN on every primary, never KEYS.

        The glob is Redis's, over the keys as written (see patterns.py): the same answer as
        ``subscribe(pattern)`` and as Redis's own ``SCAN MATCH`` over the raw keys would give.
        """
        glob = _pattern(pattern)
        found = set()
        async for redis_key in self.backend.scan(self.keys.entity_pattern("state", glob)):
            parsed = self.keys.parse_base(redis_key)
            if parsed is not None and parsed[0] == "state" and glob.match(parsed[1]):
                found.add(parsed[1])
        return sorted(found)

    def subscribe(
        self,
        pattern: str,
        callback: StateCallback,
        *,
        on_gap: GapCallback | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> Subscription:
        """Call ``callback(key, old_value, new_value)`` for every change by any process.

            >>> sub = state.subscribe("agent:*", on_change, on_gap=lambda gap: resync())
            >>> await sub          # optional: wait until the subscription is live

        ``pattern`` is a Redis glob over keys, matched as ``list_keys`` matches. ``old_value``/
        ``new_value`` are None when the key did not / no longer exists (deletion, TTL expiry: the
        server reports an expiry when a read finds the key expired or its expiry cycle gets to it,
        see docs/operations.md),
        and an :class:`OmittedValue` (with its ``size``) when the value is larger than the
        backend's ``max_event_bytes``: read it with ``get(key)``. Events this subscription may
        have missed (its queue of ``max_pending`` events overflowed, the connection was lost
        or went silent) reach ``on_gap(Gap)`` in order with the changes.
        """
        glob = _pattern(pattern)
        validate.callback("callback", callback)
        return self._subscribe_typed(
            "pattern",
            pattern,
            callback,
            lambda event: callback(event.id, _event_value(event.old), _event_value(event.new)),
            on_gap=on_gap,
            max_pending=max_pending,
            hub_glob=glob.pattern,
        )

    def unsubscribe(self, pattern: str, callback: StateCallback) -> None:
        self._unsubscribe_typed("pattern", pattern, callback)

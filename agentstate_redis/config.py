"""StateConfig (the seed's settings) and turning settings into a backend.

    >>> StateManager(config=StateConfig(backend="redis", redis_url="redis://localhost:6379", ttl=3600))
    >>> backend, owned = resolve_backend(persistence="redis")   # what every manager does
    >>> StateConfig(url="redis://...")   # InvalidInputError: unknown setting 'url' (did you mean 'redis_url'?)

Settings not given come from the environment: ``REDIS_URL``, then
``redis://localhost:6379/0``. An unknown backend name is an error, never a
fallback to memory; an unknown setting is an error naming the closest valid one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field

from .backends.base import DEFAULT_LIVENESS_TIMEOUT, Backend
from .backends.file import FileBackend
from .backends.memory import MemoryBackend
from .backends.redis import RedisBackend
from .codec import DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_VALUE_BYTES, MIN_MAX_EVENT_BYTES
from .errors import InvalidInputError
from .model import Model

BACKEND_NAMES = ("memory", "file", "redis")


def closest_name(name: str, valid: Iterable[str]) -> str | None:
    """The valid name a mistyped or half-remembered one most likely meant, or None.

    >>> closest_name("url", ["redis_url", "ttl"])           # 'redis_url' (a part of it)
    >>> closest_name("key_prefx", ["key_prefix", "db"])     # 'key_prefix' (a typo)
    """
    names = sorted(set(valid))
    wanted = name.lower().strip("_")
    if not wanted:
        return None
    typo = difflib.get_close_matches(wanted, names, n=1, cutoff=0.75)
    if typo:
        return typo[0]
    parts = [v for v in names if wanted in v or (len(v) > 2 and v in wanted)]
    if parts:
        return min(parts, key=lambda v: (abs(len(v) - len(wanted)), v))
    loose = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
    return loose[0] if loose else None


def unknown_settings_error(owner: str, unknown: Iterable[str], valid: Iterable[str]) -> InvalidInputError:
    """``InvalidInputError`` naming each unknown setting, its closest valid one, and all valid ones."""
    valid = sorted(set(valid))
    unknown = list(unknown)
    named = []
    for name in unknown:
        guess = closest_name(name, valid)
        named.append(f"{name!r} (did you mean {guess!r}?)" if guess else repr(name))
    word = "setting" if len(unknown) == 1 else "settings"
    return InvalidInputError(
        f"{owner}: unknown {word} {', '.join(named)}; valid settings are {', '.join(valid)}", settings=unknown
    )


class StateConfig(Model):
    """Backend settings; field names follow the seed document.

    An unknown field is an ``InvalidInputError`` that names the closest valid one:
    ``StateConfig(url=...)`` says "did you mean 'redis_url'?".
    """

    backend: Literal["memory", "file", "redis"] = "memory"
    auto_save: bool = True
    save_interval: float = Field(30.0, ge=0)
    file_path: str | None = None
    file_format: Literal["json", "msgpack"] = "json"
    compression: bool = False
    redis_url: str | None = None
    db: int | None = Field(None, ge=0)
    key_prefix: str = "agentstate:"
    ttl: float | None = Field(None, gt=0)
    connection_pool_size: int = Field(10, ge=1)
    events: bool = True
    retry_seconds: float = Field(10.0, ge=0)
    #: Seconds a connection may wait on a server that stopped answering before it is replaced.
    liveness_timeout: float = Field(DEFAULT_LIVENESS_TIMEOUT, gt=0, le=3600)
    max_value_bytes: int = Field(DEFAULT_MAX_VALUE_BYTES, ge=1)
    #: When the server's maxmemory-policy may evict keys: "warn" (log it and go on), "refuse" (raise
    #: EvictionPolicyError at connect) or "ignore". Warn by default: managed services often ship an
    #: evicting default (volatile-lru) and refuse CONFIG SET, and refusing would stop a fleet that works.
    eviction: Literal["warn", "refuse", "ignore"] = "warn"
    max_event_bytes: int = Field(DEFAULT_MAX_EVENT_BYTES, ge=MIN_MAX_EVENT_BYTES)

    def __init__(self, /, **data: Any) -> None:
        unknown = [k for k in data if k not in type(self).model_fields]
        if unknown:
            raise unknown_settings_error("StateConfig", unknown, type(self).model_fields)
        super().__init__(**data)


def make_backend(config: StateConfig) -> Backend:
    common: dict[str, Any] = {
        "key_prefix": config.key_prefix,
        "ttl": config.ttl,
        "events": config.events,
        "retry_seconds": config.retry_seconds,
        "max_value_bytes": config.max_value_bytes,
        "eviction": config.eviction,
        "liveness_timeout": config.liveness_timeout,
        "max_event_bytes": config.max_event_bytes,
    }
    if config.backend == "memory":
        return MemoryBackend(**common)
    if config.backend == "file":
        return FileBackend(
            file_path=config.file_path or "./state/state.json",
            format=config.file_format,
            compression=config.compression,
            save_interval=config.save_interval,
            auto_save=config.auto_save,
            **common,
        )
    return RedisBackend(config.redis_url, db=config.db, connection_pool_size=config.connection_pool_size, **common)


def resolve_backend(
    persistence: str | Backend | None = None,
    *,
    backend: Backend | None = None,
    state_manager: Any = None,
    config: StateConfig | None = None,
    **settings: Any,
) -> tuple[Backend, bool]:
    """The backend a manager should use, and whether the manager owns (and closes) it.

    Accepts, in order: an explicit ``backend``, a StateManager to share, a
    ``config``, or ``persistence="memory"|"file"|"redis"`` plus StateConfig
    fields as keyword arguments (``redis_url=``, ``key_prefix=``, ...).
    """
    if backend is not None:
        return backend, False
    if isinstance(persistence, Backend):
        return persistence, False
    if state_manager is not None:
        return state_manager.backend, False
    if config is None:
        name = persistence or "memory"
        if name not in BACKEND_NAMES:
            raise InvalidInputError(f"unknown persistence backend {name!r}; choose one of {BACKEND_NAMES}")
        config = StateConfig(backend=name, **settings)
    elif settings:
        raise InvalidInputError(f"pass either config= or settings, not both: {sorted(settings)}")
    return make_backend(config), True

"""What every state manager shares: a backend (owned or borrowed) and its lifecycle.

    >>> class MyManager(BaseManager):
    ...     async def ping(self): return await self.backend.run("state/get", [...])
    >>> async with MyManager(persistence="redis", redis_url="redis://localhost:6379") as m: ...

Managers built from settings own their backend and close it; managers given a
``backend=`` or ``state_manager=`` share that one connection and leave it open.
"""

from __future__ import annotations

import inspect
from typing import Any

from .backends.base import Backend, new_op_id
from .codec import dumps
from .config import StateConfig, resolve_backend, unknown_settings_error
from .events import Callback, GapCallback, Subscription
from .subscription import DEFAULT_MAX_PENDING


class BaseManager:
    #: The entity kind used in keys and event channels (``keys.entity(kind, id)``).
    kind = ""

    def __init__(
        self,
        persistence: str | Backend | None = None,
        *,
        backend: Backend | None = None,
        state_manager: Any = None,
        config: StateConfig | None = None,
        **settings: Any,
    ) -> None:
        unknown = [name for name in settings if name not in StateConfig.model_fields]
        if unknown:
            raise unknown_settings_error(type(self).__name__, unknown, self.setting_names())
        self.backend, self._owns_backend = resolve_backend(
            persistence, backend=backend, state_manager=state_manager, config=config, **settings
        )

    @classmethod
    def setting_names(cls) -> set[str]:
        """Every keyword this manager takes: its own (``lease=``, ``cache_ttl=``, ...) and StateConfig's."""
        names = set(StateConfig.model_fields)
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            for param in inspect.signature(init).parameters.values():
                if param.name != "self" and param.kind not in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                    names.add(param.name)
        return names

    @property
    def keys(self) -> Any:
        return self.backend.keys

    async def connect(self) -> Any:
        await self.backend.connect()
        return self

    async def close(self) -> None:
        if self._owns_backend:
            await self.backend.close()

    async def __aenter__(self) -> Any:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _dumps(self, value: Any, what: str = "value") -> str:
        return dumps(value, max_bytes=self.backend.max_value_bytes, what=what)

    @staticmethod
    def _op_id() -> str:
        return new_op_id()

    def subscribe_events(self, id_glob: str, callback: Callback, kind: str | None = None, *,
                         on_gap: GapCallback | None = None, max_pending: int = DEFAULT_MAX_PENDING) -> Subscription:
        """Raw change events of this manager's entities whose id matches ``id_glob``; ``on_gap(Gap)``
        when some may have been missed (see agentstate_redis.subscription)."""
        return self.backend.events.subscribe(self.kind if kind is None else kind, id_glob, callback,
                                             on_gap=on_gap, max_pending=max_pending)

    def unsubscribe_events(self, id_glob: str, callback: Callback | None = None, kind: str | None = None) -> None:
        self.backend.events.unsubscribe(self.kind if kind is None else kind, id_glob, callback)

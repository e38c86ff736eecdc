"""What every state manager shares: a backend (owned or borrowed), its lifecycle, and the spine its
verbs run on (an entity ``Layout``, ``_write``/``_read``, typed subscriptions).

    >>> class NoteManager(BaseManager):
    ...     kind = "note"
    ...     layout = Layout("note", "notes", ("history",))   # lua/notes/*.lua, lua/lib/notes.lua
    ...     async def append(self, note_id: str, text: str) -> int:
    ...         return int(await self._write("append", note_id, text))
    >>> async with NoteManager(persistence="redis", redis_url="redis://localhost:6379") as m: ...

Managers built from settings own their backend and close it; managers given a
``backend=`` or ``state_manager=`` share that one connection and leave it open.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from .backends.base import Backend, new_op_id
from .codec import dumps
from .config import StateConfig, resolve_backend, unknown_settings_error
from . import validate
from .events import Callback, ChangeEvent, GapCallback
from .keys import Keys, validate_id
from .subscription import DEFAULT_MAX_PENDING, Subscription

if TYPE_CHECKING:
    from typing_extensions import Self

#: KEYS kept built per layout and manager (a hot entity's names are built once); past this many
#: ids the lot is dropped and built again as used, so memory stays bounded.
KEY_LISTS_KEPT = 4096
#: What ``_write``/``_read`` return: the script call, to be awaited (no coroutine of its own).
ScriptCall = Coroutine[Any, Any, Any]


@dataclass(frozen=True, eq=False)
class Layout:
    """Where a manager's entity lives, declared once per manager and mirrored once by the ``K``
    table of its Lua library (``lua/lib/<manager>.lua``):

        >>> Layout("speech", "speech", ("stt", "tts", "transcript"))

    ``kind`` is the hash tag (``{speech:<id>}``) and the event kind; ``scripts`` the folder under
    ``lua/``. Every script of the layout takes the same KEYS in this order: the base hash, the
    op-id generations (``ops``, ``ops_prev``), then one key per suffix. ``noun`` names the id in
    errors ("workflow id must ...") when it is not ``kind``. ``events`` is the channel its writes
    get in ARGV[2]: ``None`` the entity's own (``kind``, id), ``""`` none (its scripts publish
    nothing), ``"<kind>:<id>"`` one fixed channel for every entity of the layout (the tool retry
    index publishes on ``tool:_retries``). A manager with several entity kinds declares one layout
    per kind and calls ``_write_on(layout, ...)`` (see ``agentstate_redis/tools/layouts.py``).

    Layouts compare and hash by identity: each is declared once, as a module or class constant.
    """

    kind: str
    scripts: str
    suffixes: tuple[str, ...]
    noun: str = ""
    events: str | None = None

    @property
    def size(self) -> int:
        """How many KEYS every script of the layout takes."""
        return 3 + len(self.suffixes)

    def channel(self, keys: Keys, entity_id: str) -> str:
        """The event channel ARGV[2] carries for ``entity_id`` (events on; see ``events``)."""
        if self.events is None:
            return keys.channel(self.kind, entity_id)
        if not self.events:
            return ""
        kind, _, ident = self.events.partition(":")
        return keys.channel(kind, ident)


class BaseManager:
    #: The entity kind used in keys and event channels (``keys.entity(kind, id)``).
    kind = ""
    #: The entity layout of a manager whose scripts all take one set of KEYS (see Layout).
    layout: ClassVar[Layout | None] = None

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
        #: (id glob, id(callback)) -> the wrapper given to the event hub, so ``unsubscribe`` finds it.
        self._wrappers: dict[tuple[str, int], Callable[[ChangeEvent], Any]] = {}
        #: layout -> entity id -> its KEYS and event channel, built once (``_built``; at most KEY_LISTS_KEPT ids each).
        self._key_lists: dict[Layout, dict[str, tuple[tuple[str, ...], str]]] = {}

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

    async def connect(self) -> Self:
        await self.backend.connect()
        return self

    async def close(self) -> None:
        if self._owns_backend:
            await self.backend.close()

    async def __aenter__(self) -> Self:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _dumps(self, value: Any, what: str = "value") -> str:
        return dumps(value, max_bytes=self.backend.max_value_bytes, what=what)

    @staticmethod
    def _op_id() -> str:
        return new_op_id()

    def _head(self, entity_id: str, op_id: str | None = None, *, layout: Layout | None = None) -> list[str]:
        """The ARGV every write script starts with: op id, event channel, entity id.

            >>> self._head("call-1")
            ['7f3c...', 'asr:ev:{speech:call-1}', 'call-1']

        ``op_id=""`` for an idempotent script whose retries need no de-duplication; ``layout`` for
        an entity of another layout than the manager's own (its channel is that layout's).
        """
        channel = self._built(layout or self._layout(), entity_id)[1]
        return [self._op_id() if op_id is None else op_id, channel if self.backend.events_enabled else "", entity_id]

    def _layout(self) -> Layout:
        layout = self.layout
        assert layout is not None, f"{type(self).__name__} declares no layout"
        return layout

    def _entity_keys(self, entity_id: str) -> tuple[str, ...]:
        """The KEYS of every script of this manager for one entity (see Layout)."""
        return self._built(self._layout(), entity_id)[0]

    def _keys_on(self, layout: Layout, entity_id: str) -> tuple[str, ...]:
        """The KEYS of every script of ``layout`` for one entity, its id checked (``validate_id``).

        >>> self._keys_on(RETRIES, "tool-retries")
        ('p:{idx:tool-retries}', 'p:{idx:tool-retries}:ops:cur', ..., 'p:{idx:tool-retries}:retry:')
        """
        return self._built(layout, entity_id)[0]

    def _built(self, layout: Layout, entity_id: str) -> tuple[tuple[str, ...], str]:
        """An entity's KEYS and event channel, built once per id and kept (shared by every call,
        never changed); an id is only kept once it passed ``validate_id``, so a kept id is valid."""
        built = self._key_lists.get(layout)
        if built is not None and type(entity_id) is str:
            found = built.get(entity_id)
            if found is not None:
                return found
        validate_id(layout.noun or layout.kind, entity_id)
        k = self.backend.keys.entity(layout.kind, entity_id)
        names = (
            (k.base, k.ops, k.ops_prev, *(k(suffix) for suffix in layout.suffixes)),
            layout.channel(self.backend.keys, entity_id),
        )
        if type(entity_id) is str:
            if built is None:
                built = self._key_lists[layout] = {}
            elif len(built) >= KEY_LISTS_KEPT:
                built.clear()
            built[entity_id] = names
        return names

    def _write(self, verb: str, entity_id: str, *args: Any, op_id: str | None = None) -> ScriptCall:
        """Run the write ``lua/<scripts>/<verb>.lua`` on the entity's KEYS with ARGV op id, channel,
        id (``_head``), then ``args``.

            >>> await self._write("set_part", session_id, "stt", *fields)

        Not a coroutine of its own: it checks the id and returns the backend's call, so a write
        costs one coroutine less (``await`` it at once, as every caller does).
        """
        return self._write_on(self.layout or self._layout(), verb, entity_id, *args, op_id=op_id)

    def _read(self, verb: str, entity_id: str, *args: Any) -> ScriptCall:
        """Run the read ``lua/<scripts>/<verb>.lua`` on the entity's KEYS with ARGV ``args``."""
        layout = self.layout or self._layout()
        return self.backend.run(f"{layout.scripts}/{verb}", self._built(layout, entity_id)[0], args)

    def _write_on(self, layout: Layout, verb: str, entity_id: str, *args: Any, op_id: str | None = None) -> ScriptCall:
        """``_write`` for a manager with several layouts: the script ``lua/<layout.scripts>/<verb>.lua``
        on ``layout``'s KEYS of ``entity_id``, ARGV op id, ``layout``'s channel, id, then ``args``.

            >>> await self._write_on(LINKS, "link", execution_id, tool_name, ttl_ms, op_id="")
        """
        keys, channel = self._built(layout, entity_id)
        argv = [
            self._op_id() if op_id is None else op_id,
            channel if self.backend.events_enabled else "",
            entity_id,
            *args,
        ]
        return self.backend.run(f"{layout.scripts}/{verb}", keys, argv)

    def _read_on(self, layout: Layout, verb: str, entity_id: str, *args: Any) -> ScriptCall:
        """``_read`` for a manager with several layouts (see ``_write_on``)."""
        return self.backend.run(f"{layout.scripts}/{verb}", self._built(layout, entity_id)[0], args)

    def _subscribe_typed(
        self,
        what: str,
        id_glob: str,
        callback: Callable[..., Any],
        deliver: Callable[[ChangeEvent], Any],
        *,
        on_gap: GapCallback | None,
        max_pending: int,
        hub_glob: str | None = None,
    ) -> Subscription:
        """The body of every manager's typed ``subscribe``: ``deliver(event)`` calls ``callback``
        with the typed event; it is remembered under (``id_glob``, ``callback``) for ``unsubscribe``.

            >>> return self._subscribe_typed("id_glob", id_glob, callback,
            ...                              lambda event: callback(SpeechEvent.from_change(event)),
            ...                              on_gap=on_gap, max_pending=max_pending)

        ``hub_glob`` is the glob given to the event hub once the caller has validated it (the state
        manager checks its pattern as an IdGlob); otherwise ``id_glob`` is checked here.
        """
        if hub_glob is None:
            validate.text(what, id_glob, empty=False)
        validate.callback("callback", callback)
        self._wrappers[(id_glob, id(callback))] = deliver
        return self.backend.events.subscribe(
            self.kind, id_glob if hub_glob is None else hub_glob, deliver, on_gap=on_gap, max_pending=max_pending
        )

    def _unsubscribe_typed(self, what: str, id_glob: str, callback: Callable[..., Any]) -> None:
        """The body of every manager's typed ``unsubscribe`` (a callback never subscribed: nothing)."""
        validate.text(what, id_glob, empty=False)
        wrapper = self._wrappers.pop((id_glob, id(callback)), None)
        if wrapper is not None:
            self.backend.events.unsubscribe(self.kind, id_glob, wrapper)

    def subscribe_events(
        self,
        id_glob: str,
        callback: Callback,
        kind: str | None = None,
        *,
        on_gap: GapCallback | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> Subscription:
        """Raw change events of this manager's entities whose id matches ``id_glob``; ``on_gap(Gap)``
        when some may have been missed (see agentstate_redis.subscription)."""
        return self.backend.events.subscribe(
            self.kind if kind is None else kind, id_glob, callback, on_gap=on_gap, max_pending=max_pending
        )

    def unsubscribe_events(self, id_glob: str, callback: Callback | None = None, kind: str | None = None) -> None:
        self.backend.events.unsubscribe(self.kind if kind is None else kind, id_glob, callback)

"""What every backend provides: a connected client, the script runner, SCAN and events.

    >>> backend = RedisBackend(url="redis://localhost:6379/0", key_prefix="myapp:")
    >>> await backend.connect()
    >>> version = await backend.run("state/save", keys=[...], args=[...])
    >>> async for key in backend.scan(backend.keys.entity_pattern("state")): ...
    >>> await backend.close()

Backends connect lazily on first use; a failed first connection raises
BackendUnavailableError at once (there is never a fallback to another backend).
Connecting also reads the server's maxmemory-policy (an evicting one is warned
about, or refused with ``eviction="refuse"``: EvictionPolicyError) and whether
it understands script flags (see server_checks.py and ScriptLibrary).
"""

from __future__ import annotations

import asyncio
import os
import ssl
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import redis.exceptions as rx

from .. import validate
from ..codec import DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_VALUE_BYTES, MIN_MAX_EVENT_BYTES
from ..errors import (
    AccessDeniedError,
    AgentStateError,
    BackendUnavailableError,
    InvalidInputError,
    TLSVerificationError,
)
from ..keys import Keys
from ..scripts import TRANSIENT_ERRORS, ScriptLibrary, ScriptRunner
from .server_checks import check_mode

if TYPE_CHECKING:
    from ..events import EventHub


#: Seconds: see Backend.liveness_timeout.
DEFAULT_LIVENESS_TIMEOUT = 10.0


def new_op_id() -> str:
    """A fresh operation id: sent with every write so a retried call applies once."""
    return os.urandom(16).hex()


class Backend(ABC):
    """Shared behaviour of the memory, file and redis backends."""

    name = "abstract"

    def __init__(
        self,
        *,
        key_prefix: str = "agentstate:",
        ttl: float | None = None,
        events: bool = True,
        retry_seconds: float = 10.0,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        eviction: str = "warn",
        liveness_timeout: float = DEFAULT_LIVENESS_TIMEOUT,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        if ttl is not None:
            validate.positive_number("ttl", ttl)
        #: What connect() does when the server's maxmemory-policy may evict keys: "warn", "refuse" or "ignore".
        self.eviction = check_mode(eviction)
        #: Longest a connection waits on a server that stopped answering before it is dropped and
        #: replaced (command replies, blocking waits, the event hub's pub/sub connection).
        self.liveness_timeout = validate.positive_number("liveness_timeout", liveness_timeout, maximum=3600)
        self.keys = Keys(key_prefix)
        self.default_ttl = ttl
        self.events_enabled = events
        self.retry_seconds = retry_seconds
        self.max_value_bytes = validate.integer("max_value_bytes", max_value_bytes)
        #: Events larger than this are published without their large fields (see lua/lib/core.lua).
        self.max_event_bytes = validate.integer("max_event_bytes", max_event_bytes, minimum=MIN_MAX_EVENT_BYTES)
        self.db = 0
        self._client: Any = None
        self._runner: ScriptRunner | None = None
        self._connect_lock = asyncio.Lock()
        self._hub: EventHub | None = None
        self._closed = False
        #: Constants of the Lua library this backend runs (``--@param`` lines; see ScriptLibrary).
        self.script_params: dict[str, int] = {}
        if max_value_bytes != DEFAULT_MAX_VALUE_BYTES:
            self.script_params["max_value_bytes"] = max_value_bytes
        if max_event_bytes != DEFAULT_MAX_EVENT_BYTES:
            self.script_params["max_event_bytes"] = max_event_bytes
        #: Coalesce concurrent script calls into pipelines (see autopipeline.py); the redis backend turns it on.
        self.autopipeline = False

    # -- lifecycle ---------------------------------------------------------------------------

    @abstractmethod
    async def _open(self) -> Any:
        """Create and return the client (not yet checked)."""

    async def _after_write(self) -> None:
        """Hook run after every mutating script (the file backend saves here)."""

    async def connect(self) -> Backend:
        if self._runner is not None:
            return self
        async with self._connect_lock:
            if self._runner is not None:
                return self
            if self._closed:
                raise BackendUnavailableError(f"{self.name} backend is closed")
            client = await self._open()
            try:
                await client.ping()
                oom_guard = await self._inspect_server(client)
            except TRANSIENT_ERRORS as exc:
                await _close_client(client)
                raise connect_error(self.describe(), exc) from exc
            except BaseException:
                await _close_client(client)
                raise
            self._client = client
            self._runner = ScriptRunner(
                client,
                ScriptLibrary.default(oom_guard=oom_guard, **self.script_params),
                retry_seconds=self.retry_seconds,
                after_write=self._after_write,
                autopipeline=self.autopipeline,
            )
        return self

    async def _inspect_server(self, client: Any) -> str:
        """Check the server before first use; returns the script library's ``oom_guard`` for it.

        fakeredis (memory and file backends) has no maxmemory and no script flags: ``"none"``.
        The redis backend checks the eviction policy here (see server_checks.py).
        """
        return "none"

    async def close(self) -> None:
        self._closed = True
        if self._hub is not None:
            await self._hub.close()
            self._hub = None
        if self._runner is not None:
            await self._runner.close()
        if self._client is not None:
            await _close_client(self._client)
            self._client = None
            self._runner = None

    async def __aenter__(self) -> Backend:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def describe(self) -> str:
        return f"{self.name} backend"

    # -- use ---------------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        if self._client is None:
            raise BackendUnavailableError(f"{self.describe()} is not connected; await connect() first")
        return self._client

    async def run(self, script: str, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        """Run one library script (see ``lua/``) and return its reply.

        Text that cannot be sent (a lone surrogate) is refused with InvalidInputError before
        anything is sent: encoding it would fail a whole pipelined batch, other callers' included.
        """
        _check_sendable(script, keys, args)
        if self._runner is None:
            await self.connect()
        assert self._runner is not None
        return await self._runner.run(script, keys, args)

    def ttl_ms(self, ttl: float | None, what: str = "ttl") -> int:
        """Milliseconds for a per-call ttl, falling back to the backend default; 0 = none.

        ``ttl`` must be a finite number of seconds, 0 < ttl <= ``validate.MAX_SECONDS`` (10 years);
        ``what`` names the argument in the error.
        """
        ttl = self.default_ttl if ttl is None else ttl
        if ttl is None:
            return 0
        return validate.milliseconds(what, ttl)

    def channel(self, kind: str, ident: str) -> str:
        """The event channel a script publishes to, or '' when events are off."""
        return self.keys.channel(kind, ident) if self.events_enabled else ""

    async def scan(self, match: str, count: int = 1000) -> AsyncIterator[str]:
        """Every key matching ``match`` (SCAN, on every primary of a cluster)."""
        await self.connect()
        async for key in self.client.scan_iter(match=match, count=count):
            yield key

    # -- events ------------------------------------------------------------------------------

    @property
    def events(self) -> EventHub:
        """The per-backend subscription hub (created on first use)."""
        if self._hub is None:
            from ..events import EventHub

            self._hub = EventHub(self)
        return self._hub

    async def pubsub_clients(self) -> list[Any]:
        """Clients to listen on: pattern events on the first, keyspace events on each."""
        await self.connect()
        return [self.client]

    async def enable_keyspace_events(self) -> bool:
        """Turn on expiry notifications (flags E and x) where CONFIG is permitted."""
        return await enable_expiry_notifications(await self.pubsub_clients())

    # -- cluster hooks the event hub calls (events.py); a single server or a file has no topology --

    async def current_primaries(self) -> list[tuple[str, int]]:
        """(host, port) of every primary of a cluster, read fresh; ``[]`` when not a cluster."""
        return []

    async def refresh_nodes(self) -> list[Any]:
        """Follow a new topology (failover, resharding) and return ``pubsub_clients()`` anew."""
        return await self.pubsub_clients()


def _check_sendable(script: str, keys: Sequence[str], args: Sequence[Any]) -> None:
    for group in (keys, args):
        for item in group:
            if isinstance(item, str) and not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise InvalidInputError(
                        f"{script}: {item[:60]!r} is not valid Unicode text: {exc.reason} at index {exc.start}"
                    ) from None


async def enable_expiry_notifications(clients: list[Any]) -> bool:
    ok = True
    for client in clients:
        try:
            current = (await client.config_get("notify-keyspace-events")).get("notify-keyspace-events", "")
            flags = set(current)
            if "A" in flags:
                flags.add("x")
            if {"E", "x"} <= flags:
                continue
            await client.config_set("notify-keyspace-events", "".join(sorted(flags | {"E", "x"})))
        except Exception:  # noqa: BLE001 - managed Redis refuses CONFIG in many ways
            ok = False
    return ok


def connect_error(where: str, exc: BaseException) -> AgentStateError:
    """The typed error for a failed first connection, naming the cause: TLS, credentials, or reach."""
    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in chain:  # redis-py wraps the real cause (unix sockets, TLS)
        chain.append(link)
        link = link.__cause__ or link.__context__
    if any(isinstance(e, rx.AuthenticationError) for e in chain):
        return AccessDeniedError(
            f"{where} refused the credentials ({str(exc).rstrip('.')}); check the user name and "
            "password in the URL (redis://user:password@host:port/db)"
        )
    cause = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = cause.verify_message or str(cause)
        return TLSVerificationError(
            f"{where}: TLS certificate verification failed ({reason}); pass the CA that signed the "
            "server's certificate as ?ssl_ca_certs=/path/ca.crt and connect by a name the certificate lists",
            reason=reason,
        )
    if isinstance(cause, ssl.SSLError):
        return BackendUnavailableError(
            f"{where}: TLS handshake failed ({cause.reason or cause}); does the server speak TLS on that port?"
        )
    return BackendUnavailableError(f"{where} is unreachable: {exc}")


async def _close_client(client: Any) -> None:
    closer = getattr(client, "aclose", None) or client.close
    try:
        await closer()
    except Exception:  # noqa: BLE001 - closing a dead connection must not mask the real error
        pass

"""Loading and running the Lua scripts: one file per atomic operation.

    >>> library = ScriptLibrary.default()
    >>> library["state/save"].keys  # from the script's header
    ['data hash', 'ops hash (current generation)', 'ops of the previous generation (hash)']
    >>> version = await runner.run("state/save", keys=[...], args=[...])

Scripts run with EVALSHA; a NOSCRIPT reply (server restart, failover, a new
node) falls back to EVAL, which caches the script again. Error replies of the
form ``ASR_<CODE> {...}`` become typed errors. A script whose header says
``Retry: safe`` is retried on connection loss with the same arguments (and so
the same operation id): the scripts make that harmless, for as long as the server
remembers the op id (``op_window_ms``, 60 s). So a write is not resent once its
first send is older than half that window (a process paused mid-call, a long
outage); the caller gets ``OutcomeUnknownError`` instead.

Memory: a write script's header says ``Memory: guarded`` (it adds data: refused
before it writes anything once the server is over ``maxmemory``, raising
BackendOutOfMemoryError) or ``Memory: allowed; <why>`` (it keeps a fleet alive
or drains it, so it runs over ``maxmemory``). The library renders that class in
the form the server understands (``oom_guard``): a ``#!lua flags=...`` first
line on Redis 7+ and Valkey, a first write that decides on older servers (see
OOM_GUARDS), nothing on fakeredis, which has no ``maxmemory``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from redis import exceptions as rx
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception,
    stop_after_delay,
    wait_random_exponential,
)

from .autopipeline import AutoPipeline
from .autopipeline_cluster import ClusterAutoPipeline
from .errors import (
    AccessDeniedError,
    AgentStateError,
    BackendOutOfMemoryError,
    BackendUnavailableError,
    OutcomeUnknownError,
    from_script_error,
    is_oom_reply,
)
from .sends import SendRecord, client_reports_sends, send_clock, start_recording, stop_recording

_INCLUDE = re.compile(r"^--@include\s+(\S+)\s*$", re.M)
#: ``local NAME = <number> --@param <name>``: a constant a backend may set (see ScriptLibrary).
_PARAM = re.compile(r"^(local\s+\w+\s*=\s*)(-?\d+)(\s*--@param\s+(\w+))\s*$", re.M)
_HEADER = re.compile(r"^--\s*(KEYS|ARGV)\[(\d+)\]\s*(.*)$")

#: A script's memory class, from its header: ``Mode: read`` is READ; a write says ``Memory: guarded``
#: (GUARDED: refused over maxmemory before it writes) or ``Memory: allowed; <why>`` (ALLOWED: runs).
READ, GUARDED, ALLOWED = "read", "guarded", "allowed"

#: How a library renders the memory class, per server (``ScriptLibrary(oom_guard=...)``):
#: ``flags``: Redis 7+ / Valkey script flags on the first line. The server refuses a GUARDED script
#:   (no ``allow-oom``) before it runs when over maxmemory; ``no-writes`` lets a READ script run then
#:   and on replicas.
#: ``command``: servers without flags (Redis 6) refuse a script over maxmemory only at its FIRST
#:   write, and only if that command is one they guard (deny-oom). So a GUARDED script starts with
#:   SETRANGE of an empty string (deny-oom; on a key that never exists it creates nothing), and an
#:   ALLOWED one with DEL of that key (not deny-oom, deletes nothing): every later write then runs.
#: ``none``: no first line (fakeredis, which has no maxmemory and no shebang support).
OOM_GUARDS = ("flags", "command", "none")
_FIRST_LINE = {
    "flags": {READ: "#!lua flags=no-writes", GUARDED: "#!lua", ALLOWED: "#!lua flags=allow-oom"},
    #: ``:oom-guard`` is a sub-key of KEYS[1] (same hash tag) that nothing ever creates.
    "command": {
        GUARDED: "redis.call('SETRANGE', KEYS[1] .. ':oom-guard', 0, '')",
        ALLOWED: "redis.call('DEL', KEYS[1] .. ':oom-guard')",
    },
    "none": {},
}

#: Errors after which the same call may be sent again (the connection, not the script, failed).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    rx.ConnectionError,
    rx.TimeoutError,
    rx.BusyLoadingError,
    rx.ClusterDownError,
    rx.TryAgainError,
    rx.ReadOnlyError,
    rx.MasterDownError,
    ConnectionResetError,
    ConnectionRefusedError,
    BrokenPipeError,
    rx.SlotNotCoveredError,
)

#: Replies by which the server refused a command without running it: a resend cannot apply it twice.
REFUSALS: tuple[type[BaseException], ...] = (
    rx.BusyLoadingError,
    rx.ReadOnlyError,
    rx.TryAgainError,
    rx.ClusterDownError,  # and MasterDownError
)

#: A write is resent only while its first send is younger than this share of the op-id window.
#: The rest is margin for a resend that travels slowly, and for the server's clock running fast.
RESEND_SHARE_OF_OP_WINDOW = 0.5


def is_transient(exc: BaseException) -> bool:
    """A failure of the connection (worth resending), not of the operation."""
    return isinstance(exc, TRANSIENT_ERRORS) and not isinstance(exc, AgentStateError)


@dataclass(frozen=True)
class Script:
    name: str
    source: str
    sha: str
    writes: bool
    retry_safe: bool
    keys: list[str] = field(default_factory=list)
    argv: list[str] = field(default_factory=list)
    #: READ, GUARDED or ALLOWED (see OOM_GUARDS); '' when a write script's header says neither.
    memory: str = ""


def _lua_root() -> Path:
    packaged = resources.files("agentstate_redis") / "lua"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "lua"


class ScriptLibrary:
    """Every ``lua/**/*.lua`` file, includes expanded, keyed by ``"dir/name"``.

    ``params`` sets the library's tunable constants, lines of the form
    ``local OP_TTL_MS = 60000 --@param op_window_ms``: the number is replaced by
    ``params["op_window_ms"]``. A library with other params has other SHAs, so
    backends with different settings never share a cached script by mistake.
    ``oom_guard`` (one of OOM_GUARDS, default ``flags``) is the form of the first
    line that makes each script's memory class hold on the server.

        >>> ScriptLibrary.default(op_window_ms=5000)["state/save"].sha != ScriptLibrary.default()["state/save"].sha
        True
        >>> ScriptLibrary.default()["state/save"].source.splitlines()[0]
        '#!lua'
        >>> ScriptLibrary.default(oom_guard="command")["orchestration/heartbeat"].source.splitlines()[0]
        "redis.call('DEL', KEYS[1] .. ':oom-guard')"
    """

    _defaults: dict[tuple[str, tuple[tuple[str, int], ...]], ScriptLibrary] = {}

    def __init__(self, root: Path, params: dict[str, int] | None = None, *, oom_guard: str = "flags") -> None:
        if oom_guard not in OOM_GUARDS:
            raise ValueError(f"oom_guard must be one of {OOM_GUARDS}, got {oom_guard!r}")
        self.root = root
        self.params = dict(params or {})
        self.oom_guard = oom_guard
        #: Every ``--@param`` and the value the scripts run with (``params`` or the source's default).
        self.param_values: dict[str, int] = {}
        self.scripts: dict[str, Script] = {}
        used: set[str] = set()
        for path in sorted(root.rglob("*.lua")):
            name = path.relative_to(root).with_suffix("").as_posix()
            if name.startswith("lib/"):
                continue
            source = self._expand(path.read_text())
            self.scripts[name] = self._parse(name, self._set_params(source, used), oom_guard)
        unknown = set(self.params) - used
        if unknown:
            raise ValueError(f"no Lua script declares --@param {sorted(unknown)}")

    @classmethod
    def default(cls, *, oom_guard: str = "flags", **params: int) -> ScriptLibrary:
        """The packaged scripts, built once per ``oom_guard`` and set of ``params``."""
        key = (oom_guard, tuple(sorted(params.items())))
        library = cls._defaults.get(key)
        if library is None:
            library = cls._defaults[key] = cls(_lua_root(), params, oom_guard=oom_guard)
        return library

    def _set_params(self, source: str, used: set[str]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(4)
            if name not in self.params:
                self.param_values.setdefault(name, int(match.group(2)))
                return match.group(0)
            value = self.params[name]
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"script param {name} must be an int, got {value!r}")
            used.add(name)
            self.param_values[name] = value
            return f"{match.group(1)}{value}{match.group(3)}"

        return _PARAM.sub(replace, source)

    def __getitem__(self, name: str) -> Script:
        try:
            return self.scripts[name]
        except KeyError:
            raise KeyError(f"no Lua script named {name!r} under {self.root}") from None

    def _expand(self, text: str) -> str:
        """Paste each ``--@include lib/x.lua`` in place, recursively, every library once per script:
        a library includes what it needs (lib/agents.lua includes lib/core.lua and lib/lease.lua),
        and a later include of a library already pasted is satisfied by that first copy."""
        emitted: set[str] = set()

        def expand(source: str, seen: tuple[str, ...]) -> str:
            def include(match: re.Match[str]) -> str:
                rel = match.group(1)
                if rel in seen:
                    raise ValueError(f"include cycle: {' -> '.join(seen + (rel,))}")
                if rel in emitted:
                    return f"-- ({rel} is included above)"
                emitted.add(rel)
                return expand((self.root / rel).read_text(), seen + (rel,))

            return _INCLUDE.sub(include, source)

        return expand(text, ())

    @staticmethod
    def _parse(name: str, source: str, oom_guard: str = "none") -> Script:
        header = source.split("\n\n", 1)[0].splitlines()
        keys: list[str] = []
        argv: list[str] = []
        writes = retry_safe = False
        declared = ""
        for line in header:
            if m := _HEADER.match(line):
                (keys if m.group(1) == "KEYS" else argv).append(m.group(3).strip())
            elif line.startswith("-- Mode:"):
                writes = "write" in line
            elif line.startswith("-- Retry:"):
                retry_safe = line.split(":", 1)[1].strip().startswith("safe")
            elif line.startswith("-- Memory:"):
                declared = line.split(":", 1)[1].split(";", 1)[0].strip()
        memory = READ if not writes else declared if declared in (GUARDED, ALLOWED) else ""
        first = _FIRST_LINE[oom_guard].get(memory)
        if first is not None:
            source = f"{first}\n{source}"
        sha = hashlib.sha1(source.encode()).hexdigest()
        return Script(name, source, sha, writes, retry_safe, keys, argv, memory)


def _arg(value: Any) -> str | bytes:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (bytes, str)):
        return value
    if isinstance(value, float):
        return repr(value)
    return str(value)


class ScriptRunner:
    """Runs library scripts on one client, with typed errors and bounded retries.

    A call is sent once; after a transient failure a ``Retry: safe`` script is sent
    again with the same arguments (so the same op id) for up to ``retry_seconds``.
    A write that relies on the server remembering its op id is resent only while its
    first send is younger than ``resend_limit`` (half the op-id window the scripts run
    with): past that, the server may have forgotten the id and a resend could apply
    twice, so the caller gets :class:`OutcomeUnknownError` instead. When the retries
    run out, a write that may have reached the server raises ``OutcomeUnknownError``
    and everything else ``BackendUnavailableError`` (nothing was applied).
    """

    def __init__(
        self,
        client: Any,
        library: ScriptLibrary | None = None,
        *,
        retry_seconds: float = 10.0,
        after_write: Callable[[], Awaitable[None] | None] | None = None,
        autopipeline: bool = False,
    ) -> None:
        self.client = client
        self.sender = _auto_pipeline(client) if autopipeline else client
        self.library = library or ScriptLibrary.default()
        self.retry_seconds = retry_seconds
        self.after_write = after_write
        #: Seconds the server remembers an op id: the scripts' own constant, so the two cannot disagree.
        self.op_window = self.library.param_values.get("op_window_ms", 60_000) / 1000
        self.resend_limit = self.op_window * RESEND_SHARE_OF_OP_WINDOW
        #: False: the connections cannot tell whether a command left, so every failed attempt may have.
        self.sends_reported = client_reports_sends(client)

    async def close(self) -> None:
        if isinstance(self.sender, (AutoPipeline, ClusterAutoPipeline)):
            await self.sender.close()

    async def run(self, name: str, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        script = self.library[name]
        if len(keys) != len(script.keys):
            raise TypeError(f"{name} takes {len(script.keys)} keys, got {len(keys)}")
        argv = [a if type(a) is str else _arg(a) for a in args]
        call = _Call(script, list(keys), argv)
        try:
            reply = await self._attempt(call)
        except Exception as exc:
            # The retry machinery is only built once a send has failed: the common path is one call.
            if not is_transient(exc):
                raise
            if not (script.retry_safe and self.retry_seconds > 0):
                raise self._gave_up(call, exc, retried=False) from exc
            reply = await self._with_retries(call)
        if script.writes and self.after_write is not None:
            maybe = self.after_write()
            if maybe is not None:
                await maybe
        return reply

    async def _with_retries(self, call: _Call) -> Any:
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_delay(self.retry_seconds),
            wait=wait_random_exponential(multiplier=0.05, max=1.0),
            reraise=False,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(call)
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            assert cause is not None
            raise self._gave_up(call, cause) from cause
        raise AssertionError("unreachable")

    async def _attempt(self, call: _Call) -> Any:
        """One send of ``call``, refused when a resend could apply twice; notes a send that may have landed."""
        if call.first_sent is not None and call.needs_op_memory:
            age = send_clock() - call.first_sent
            if age > self.resend_limit:
                raise self._unknown(
                    call,
                    f"its first send was {age:.1f}s ago, and a resend is safe only within "
                    f"{self.resend_limit:.1f}s (the server remembers op ids for "
                    f"{self.op_window:.1f}s)",
                )
        started = 0.0 if self.sends_reported else send_clock()
        record = SendRecord()
        token = start_recording(record)
        try:
            return await self._call(call.script, call.keys, call.argv)
        except Exception as exc:
            if is_transient(exc) and not isinstance(exc, REFUSALS):
                call.sent_at(record.first_sent if self.sends_reported else started)
            raise
        finally:
            stop_recording(token)

    def _gave_up(self, call: _Call, cause: BaseException, retried: bool = True) -> AgentStateError:
        how_long = f" for {self.retry_seconds:.1f}s" if retried else " (no retries)"
        if call.script.writes and call.first_sent is not None:
            return self._unknown(call, f"the backend stopped answering{how_long}: {cause}")
        return BackendUnavailableError(f"{call.script.name}: backend unreachable{how_long}: {cause}", keys=call.keys)

    @staticmethod
    def _unknown(call: _Call, reason: str) -> OutcomeUnknownError:
        key = call.keys[0] if call.keys else ""
        return OutcomeUnknownError(
            f"{call.script.name} on {key!r}: the write may or may not have applied; {reason}. "
            f"Read the current state before writing again.",
            operation=call.script.name,
            key=key,
            keys=call.keys,
            reason=reason,
        )

    async def _call(self, script: Script, keys: list[str], argv: list[Any]) -> Any:
        try:
            try:
                return await self.sender.evalsha(script.sha, len(keys), *keys, *argv)
            except rx.NoScriptError:
                return await self.client.eval(script.source, len(keys), *keys, *argv)
        except rx.NoPermissionError as exc:
            raise AccessDeniedError(f"{script.name} refused by the server's ACL: {exc}", keys=keys) from None
        except rx.ResponseError as exc:
            typed = from_script_error(str(exc))
            if typed is not None:
                raise typed from None
            if isinstance(exc, rx.OutOfMemoryError) or is_oom_reply(exc):
                raise BackendOutOfMemoryError(
                    f"{script.name} refused: the server is over maxmemory; nothing was written",
                    script=script.name,
                    keys=keys,
                ) from None
            if isinstance(exc, REFUSALS):
                raise
            raise AgentStateError(f"{script.name} failed: {exc}") from exc


def _auto_pipeline(client: Any) -> AutoPipeline | ClusterAutoPipeline:
    """Batching per primary on a cluster client (it has a slot map), on the one connection pool otherwise."""
    return ClusterAutoPipeline(client) if hasattr(client, "nodes_manager") else AutoPipeline(client)


class _Call:
    """One script call across its attempts."""

    __slots__ = ("script", "keys", "argv", "first_sent")

    def __init__(self, script: Script, keys: list[str], argv: list[Any]) -> None:
        self.script = script
        self.keys = keys
        self.argv = argv
        #: send_clock() of the earliest attempt that may have reached the server (None: none may have).
        self.first_sent: float | None = None

    @property
    def needs_op_memory(self) -> bool:
        """A resend is harmless only while the server remembers this call's op id (ARGV[1])."""
        return uses_op_id(self.script) and bool(self.argv) and self.argv[0] != ""

    def sent_at(self, when: float | None) -> None:
        if when is not None and (self.first_sent is None or when < self.first_sent):
            self.first_sent = when


def uses_op_id(script: Script) -> bool:
    """A write whose retries are de-duplicated by the op id in ARGV[1] (``-- ARGV[1] op id`` in its header).

    The other writes are idempotent by themselves (their ``Retry:`` line says why), so they may
    be resent at any time.
    """
    return script.writes and bool(script.argv) and script.argv[0].startswith("op id")

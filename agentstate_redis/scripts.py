"""Loading and running the Lua scripts: one file per atomic operation.

    >>> library = ScriptLibrary.default()
    >>> library["state/save"].keys  # from the script's header
    ['data hash', 'ops hash (current generation)', 'ops of the previous generation (hash)']
    >>> version = await runner.run("state/save", keys=[...], args=[...])

Scripts run with EVALSHA; a NOSCRIPT reply (server restart, failover, a new
node) falls back to EVAL, which caches the script again. Error replies of the
form ``ASR_<CODE> {...}`` become typed errors. A script whose header says
``Retry: safe`` is retried on connection loss with the same arguments (and so
the same operation id): the scripts make that harmless.

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
from .errors import (
    AccessDeniedError,
    AgentStateError,
    BackendOutOfMemoryError,
    BackendUnavailableError,
    from_script_error,
    is_oom_reply,
)

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
    "command": {GUARDED: "redis.call('SETRANGE', KEYS[1] .. ':oom-guard', 0, '')",
                ALLOWED: "redis.call('DEL', KEYS[1] .. ':oom-guard')"},
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
)


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
                return match.group(0)
            value = self.params[name]
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"script param {name} must be an int, got {value!r}")
            used.add(name)
            return f"{match.group(1)}{value}{match.group(3)}"

        return _PARAM.sub(replace, source)

    def __getitem__(self, name: str) -> Script:
        try:
            return self.scripts[name]
        except KeyError:
            raise KeyError(f"no Lua script named {name!r} under {self.root}") from None

    def _expand(self, text: str, seen: tuple[str, ...] = ()) -> str:
        def include(match: re.Match[str]) -> str:
            rel = match.group(1)
            if rel in seen:
                raise ValueError(f"include cycle: {' -> '.join(seen + (rel,))}")
            return self._expand((self.root / rel).read_text(), seen + (rel,))

        return _INCLUDE.sub(include, text)

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
    """Runs library scripts on one client, with typed errors and bounded retries."""

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
        self.sender = AutoPipeline(client) if autopipeline else client
        self.library = library or ScriptLibrary.default()
        self.retry_seconds = retry_seconds
        self.after_write = after_write

    async def close(self) -> None:
        if isinstance(self.sender, AutoPipeline):
            await self.sender.close()

    async def run(self, name: str, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        script = self.library[name]
        if len(keys) != len(script.keys):
            raise TypeError(f"{name} takes {len(script.keys)} keys, got {len(keys)}")
        argv = [a if type(a) is str else _arg(a) for a in args]
        keys = list(keys)
        try:
            reply = await self._call(script, keys, argv)
        except Exception as exc:
            # The retry machinery is only built once a send has failed: the common path is one call.
            if not (script.retry_safe and self.retry_seconds > 0 and is_transient(exc)):
                raise
            reply = await self._with_retries(script, keys, argv)
        if script.writes and self.after_write is not None:
            maybe = self.after_write()
            if maybe is not None:
                await maybe
        return reply

    async def _with_retries(self, script: Script, keys: list[str], argv: list[Any]) -> Any:
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_delay(self.retry_seconds),
            wait=wait_random_exponential(multiplier=0.05, max=1.0),
            reraise=False,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._call(script, keys, argv)
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            raise BackendUnavailableError(
                f"{script.name}: backend unreachable for {self.retry_seconds:.1f}s: {cause}"
            ) from cause
        raise AssertionError("unreachable")

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
                    f"{script.name} refused: the server is over maxmemory; nothing was written", script=script.name,
                    keys=keys,
                ) from None
            if isinstance(exc, (rx.BusyLoadingError, rx.ReadOnlyError, rx.TryAgainError)):
                raise
            raise AgentStateError(f"{script.name} failed: {exc}") from exc

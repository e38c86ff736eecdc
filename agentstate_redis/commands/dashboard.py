"""``agentstate dashboard``: the operations dashboard in the browser, with /metrics and /healthz.

    $ agentstate dashboard --redis-url redis://localhost:6379/0
    agentstate dashboard: http://127.0.0.1:8765/ on redis server at redis://localhost:6379/0, prefix 'agentstate:'
    $ AGENTSTATE_DASHBOARD_TOKEN=... agentstate dashboard --host 0.0.0.0 --read-only

Loopback only unless told otherwise: a non-loopback ``--host`` needs a token (``--token`` or
``$AGENTSTATE_DASHBOARD_TOKEN``), or ``--auth-in-front`` from an operator whose proxy already
authenticates every request. On loopback without a token, only loopback Host headers are served
(a web page cannot reach the dashboard through DNS rebinding).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import os
import signal
import socket
import sys
from collections.abc import Iterator

from .common import INTERRUPTED, CommandError, add_connection_options, backend_from, check_access
from .parsing import Subparsers, command_parser
from .watch import check_channel_access

TOKEN_ENV = "AGENTSTATE_DASHBOARD_TOKEN"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


HELP = "serve the operations dashboard (pages, actions, /metrics)"
DESCRIPTION = """Serve the dashboard: teams and their queues, dead letters (retry, purge), agents, workflows (pause,
resume, cancel), tools, a live event feed, /metrics for Prometheus and /healthz. Needs the [dashboard] extra."""


def add_parser(sub: Subparsers) -> None:
    p = command_parser(sub, "dashboard", run, help=HELP, description=DESCRIPTION)
    add_connection_options(p)
    p.add_argument("--key-prefix", dest="prefix", help="the same as --prefix")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    p.add_argument("--read-only", action="store_true", help="show no actions; every write answers 403")
    p.add_argument(
        "--token",
        default=None,
        help=f"token every request needs (Bearer header or the login form); default ${TOKEN_ENV}",
    )
    p.add_argument(
        "--auth-in-front",
        action="store_true",
        help="allow a non-loopback --host without a token: a proxy in front authenticates every request",
    )
    p.add_argument("--base-path", default="", help="serve under this path, e.g. /ops (default: the root)")
    p.add_argument("--team", action="append", default=[], help="a team to list from the start (repeatable)")
    p.add_argument(
        "--sweep-interval",
        type=float,
        default=300.0,
        help="seconds between background SCANs that find teams, agents and tools (0 = never; default 300)",
    )
    p.add_argument(
        "--offline-after",
        type=float,
        default=10.0,
        help="seconds without a heartbeat after which an agent shows offline (the fleet's setting; default 10)",
    )


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None, auth_in_front: bool) -> None:
    if not is_loopback(host) and token is None and not auth_in_front:
        raise CommandError(
            f"--host {host} is reachable from other machines: give a token (--token or ${TOKEN_ENV}), "
            "or --auth-in-front if a proxy in front authenticates every request"
        )
    if token is not None and len(token) < 8:
        raise CommandError("the token must be at least 8 characters")


def bind(host: str, port: int) -> socket.socket:
    """Bind before serving, so a port in use is one line (an OSError) instead of the server's log."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


async def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn
        from starlette.applications import Starlette
        from starlette.routing import Mount

        from ..dashboard import create_app
    except ImportError as exc:
        raise CommandError(
            f"the dashboard needs the [dashboard] extra: pip install 'agentstate-redis[dashboard]' ({exc})"
        ) from None
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV) or None
    check_exposure(args.host, token, args.auth_in_front)
    base = "/" + args.base_path.strip("/") if args.base_path.strip("/") else ""
    backend = backend_from(args)
    sock = None
    server = None
    try:
        await check_access(backend)
        await check_channel_access(backend)  # the live feed needs the event channels: one line if refused
        sock = bind(args.host, args.port)
        hosts = None
        if is_loopback(args.host) and token is None:
            hosts = ["localhost", "127.0.0.1", "[::1]", "::1"]
        app = create_app(
            backend=backend,
            token=token,
            read_only=args.read_only,
            allowed_hosts=hosts,
            teams=args.team,
            sweep_interval=args.sweep_interval,
            offline_after=args.offline_after,
        )
        served = Starlette(routes=[Mount(base, app=app)], lifespan=app.router.lifespan_context) if base else app
        port = sock.getsockname()[1]
        shown = f"[{args.host}]" if ":" in args.host else args.host
        mode = " (read-only)" if args.read_only else ""
        print(
            f"agentstate dashboard: http://{shown}:{port}{base}/{mode} on {backend.describe()}, prefix {args.prefix!r}",
            flush=True,
        )
        _Server = _server_class()
        config = uvicorn.Config(served, log_level="warning", lifespan="on", access_log=False)
        server = _Server(config)
        await server.serve(sockets=[sock])
    finally:
        if sock is not None:
            sock.close()
        await backend.close()
    if server is not None and signal.SIGINT in server.stopped_by:
        print("agentstate dashboard: interrupted", file=sys.stderr, flush=True)
        return INTERRUPTED
    print("agentstate dashboard: stopped", file=sys.stderr, flush=True)
    return 0


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, stopping gracefully on SIGINT/SIGTERM without re-raising the signal
        afterwards (uvicorn does, which would kill the command before it closes its connection)."""

        stopped_by: list[int]

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            self.stopped_by = []
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._stop, sig)
            try:
                yield
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)

        def _stop(self, sig: int) -> None:
            self.stopped_by.append(sig)
            self.force_exit = self.should_exit  # a second signal: stop without waiting for open streams
            self.should_exit = True

    return Server

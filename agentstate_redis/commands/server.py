"""``agentstate server``: run the embedded Redis in the foreground until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading

from ..embedded import EmbeddedRedis


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("server", help="run an embedded Redis server in the foreground",
                       description="Start redis-server (or the bundled valkey-server) and keep it running.")
    p.add_argument("--port", type=int, default=6379, help="TCP port (default 6379; 0 = unix socket only)")
    p.add_argument("--data-dir", default="./agentstate-data", help="directory for the AOF and logs")
    p.add_argument("--no-appendonly", action="store_true", help="keep nothing on disk")
    p.add_argument("--appendfsync", default="everysec", choices=["always", "everysec", "no"])
    p.add_argument("--unix-socket", default=None, help="also listen on this unix socket")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    server = EmbeddedRedis(
        args.port, unix_socket=args.unix_socket, data_dir=args.data_dir,
        appendonly=not args.no_appendonly, appendfsync=args.appendfsync,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    where = server.url if args.port else f"unix://{args.unix_socket}"
    print(f"agentstate server: {server.binary} listening at {where} (data in {server.data_dir})", flush=True)
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

"""One sync manager shared by a threaded WSGI server's request threads (issue 19, item 2).

A real ``wsgiref`` server with a thread per request; 8 client threads send 100 requests each.
Every request uses the same three sync objects: an atomic field update, an atomic tool-usage
increment and an optimistic increment (get_entry + save(expected_version), retried on
VersionConflictError), 800 requests and several thousand blocking calls in all. Proved: no call
hangs (every client finishes within the bound), no update is lost (the counters are exact), and
conflicts surface as the typed error under concurrency. Without the shared private loop (e.g.
``asyncio.run`` per call on one shared manager) the second call fails with "Event loop is closed"
or hangs.
"""

from __future__ import annotations

import threading
import urllib.request
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import agentstate_redis
from agentstate_redis import sync

CLIENTS = 8
REQUESTS = 100


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def test_a_threaded_wsgi_app_shares_one_sync_manager(sync_backend: Any) -> None:
    state = sync.StateManager(backend=sync_backend)
    store = sync.AgentStateStore(backend=sync_backend)
    calls = [0]
    calls_lock = threading.Lock()
    threads_seen: set[int] = set()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        q = parse_qs(environ["QUERY_STRING"])
        client, n = q["c"][0], int(q["n"][0])
        threads_seen.add(threading.get_ident())
        made = 2
        state.update("hits", {f"c{client}": n}, upsert=True)
        store.record_tool_usage("web", "Bash")
        while True:
            entry = state.get_entry("counter")
            made += 2
            try:
                state.save(
                    "counter",
                    {"n": (entry.value["n"] if entry else 0) + 1},
                    expected_version=entry.version if entry else 0,
                )
                break
            except agentstate_redis.VersionConflictError:
                continue
        with calls_lock:
            calls[0] += made
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = make_server("127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_Quiet)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{server.server_port}/"
    failures: list[str] = []

    def client(c: int) -> None:
        for n in range(1, REQUESTS + 1):
            try:
                with urllib.request.urlopen(f"{url}?c={c}&n={n}", timeout=60) as response:
                    assert response.read() == b"ok"
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(f"client {c} request {n}: {exc!r}")
                return

    clients = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    try:
        for t in clients:
            t.start()
        for t in clients:
            t.join(240)
        assert not any(t.is_alive() for t in clients), "a request hung"
    finally:
        server.shutdown()
        server.server_close()
    assert not failures, failures[:3]
    assert state.get("hits") == {f"c{c}": REQUESTS for c in range(CLIENTS)}
    assert state.get("counter") == {"n": CLIENTS * REQUESTS}
    assert store.get_tool_usage_counts("web") == {"Bash": CLIENTS * REQUESTS}
    assert calls[0] >= 4 * CLIENTS * REQUESTS and len(threads_seen) >= CLIENTS


def test_eight_threads_call_one_manager_directly(sync_backend: Any) -> None:
    """8 plain threads x 300 field updates of one key and 300 increments: exact, nothing hangs."""
    state = sync.StateManager(backend=sync_backend)
    store = sync.AgentStateStore(backend=sync_backend)

    def work(t: int) -> None:
        for n in range(1, 301):
            state.update("k", {f"t{t}": n}, upsert=True)
            store.record_tool_usage("a", f"tool{t % 2}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    assert not any(t.is_alive() for t in threads)
    assert state.get("k") == {f"t{t}": 300 for t in range(8)}
    assert state.get_version("k") == 2400
    assert store.get_tool_usage_counts("a") == {"tool0": 1200, "tool1": 1200}

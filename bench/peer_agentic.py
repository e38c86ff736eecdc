"""agenticaiframework's StateManager (Redis backend) doing the core-state loop; run with the peers' python.

    python bench/peer_agentic.py '{"url": "redis://127.0.0.1:7000/0", "mode": "seq", "duration": 2, "prefix": "b1"}'

Its API is synchronous and has no partial update, so ``update`` is what a user of it
writes: get, merge, save (which itself reads the old entry for the version). The
concurrent mode runs 64 threads (its API cannot be awaited) sharing one manager,
as 64 asyncio tasks share one of ours. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from agenticaiframework.state import StateConfig, StateManager

VALUE = {"status": "running", "current_task": "analyze_data", "progress": 0.45}


def main() -> None:
    args = json.loads(sys.argv[1])
    manager = StateManager(
        backend="redis", config=StateConfig(backend="redis", redis_url=args["url"], auto_checkpoint=False)
    )
    if manager.backend._client is None:  # the framework logs and goes on without a connection
        raise SystemExit("agenticaiframework could not connect")
    client_type = type(manager.backend._client).__module__
    prefix = args["prefix"]
    duration = float(args["duration"])
    lat: dict[str, list[int]] = {"save": [], "get": [], "update": []}
    lock = threading.Lock()

    def loop(i: int, record: bool) -> int:
        key = f"{prefix}:agent:{i}"
        n = 0
        local: dict[str, list[int]] = {"save": [], "get": [], "update": []}
        end = time.perf_counter() + duration
        clock = time.perf_counter_ns
        while time.perf_counter() < end:
            t0 = clock()
            manager.save(key, VALUE)
            t1 = clock()
            manager.get(key)
            t2 = clock()
            value = dict(manager.get(key) or {})
            value["progress"] = n
            manager.save(key, value)
            t3 = clock()
            if record:
                local["save"].append(t1 - t0)
                local["get"].append(t2 - t1)
                local["update"].append(t3 - t2)
            n += 3
        with lock:
            for k, v in local.items():
                lat[k].extend(v)
        return n

    if args["mode"] == "seq":
        start = time.perf_counter()
        ops = loop(0, True)
        elapsed = time.perf_counter() - start
    else:
        tasks = int(args.get("tasks", 64))
        counts = [0] * tasks

        def worker(i: int) -> None:
            counts[i] = loop(i, False)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(tasks)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        ops = sum(counts)
    for i in range(int(args.get("tasks", 64)) if args["mode"] != "seq" else 1):
        manager.delete(f"{prefix}:agent:{i}")
    print(
        json.dumps(
            {
                "ops": ops,
                "elapsed": elapsed,
                "client": client_type,
                "lat_ns": {k: sorted(v)[len(v) // 2] if v else None for k, v in lat.items()},
            }
        )
    )


if __name__ == "__main__":
    main()

"""Core state: save + get + update, sequential and with 64 asyncio tasks.

Compared, interleaved in each repeat, with
- ours with ``RedisBackend(autopipeline=False)`` at 64 tasks: what coalescing concurrent script calls buys;
- raw redis-py doing the same round trips (HSET / HGETALL / HSET one field): the client limit
  (sequential: redis-py's default client; 64 tasks: a pool of the same size as ours);
- ``redis-benchmark`` running EVALSHA of our ``state/save`` script with 64 clients: the server limit;
- agenticaiframework's StateManager with its Redis backend (peers venv, subprocess).
"""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from agentstate_redis import RedisBackend, StateManager

from . import peers as peers_mod
from .common import Comparison, Section, concurrent_loop, delete_prefix, elapsed_since, pct, run_id

VALUE = {"status": "running", "current_task": "analyze_data", "progress": 0.45}
TASKS = 64
POOL = 10  # the library's default connection_pool_size; raw redis-py gets the same pool


def _ns_to_us(v: float) -> float:
    return v / 1000.0


async def timed_rounds(duration: float, steps: dict[str, Callable[[int], Awaitable[Any]]]) -> dict[str, Any]:
    """Await each step in turn, round after round, for ``duration`` s, timing every call (ns, under ``lat``).

    A step gets the count of calls made before its round (``update`` writes it as the progress).
    ``await timed_rounds(2.0, {"get": lambda n: state.get("k")})`` -> ``{"ops", "elapsed", "lat": {"get": [...]}}``
    """
    lat: dict[str, list[int]] = {name: [] for name in steps}
    clock = time.perf_counter_ns
    end = time.perf_counter() + duration
    n = 0
    start = time.perf_counter()
    while time.perf_counter() < end:
        for name, step in steps.items():
            t0 = clock()
            await step(n)
            lat[name].append(clock() - t0)
        n += len(steps)
    return {"ops": n, "elapsed": elapsed_since(start, duration), "lat": lat}


async def ours_sequential(state: StateManager, duration: float, key: str) -> dict[str, Any]:
    return await timed_rounds(
        duration,
        {
            "save": lambda n: state.save(key, VALUE),
            "get": lambda n: state.get(key),
            "update": lambda n: state.update(key, {"progress": n}),
        },
    )


async def ours_concurrent(state: StateManager, duration: float, prefix: str, tasks: int = TASKS) -> float:
    def make(i: int) -> Any:
        key = f"{prefix}:c{i}"
        box = [0]

        async def step() -> None:
            box[0] += 1
            await state.save(key, VALUE)
            await state.get(key)
            await state.update(key, {"progress": box[0]})

        return step

    n, elapsed = await concurrent_loop(duration, tasks, make)
    return 3 * n / elapsed


def _raw_encode(value: dict[str, Any]) -> dict[str, str]:
    import orjson

    return {"." + k: orjson.dumps(v).decode() for k, v in value.items()}


async def raw_sequential(client: aioredis.Redis, duration: float, key: str) -> dict[str, Any]:
    mapping = _raw_encode(VALUE)
    return await timed_rounds(
        duration,
        {
            "save": lambda n: client.hset(key, mapping=mapping),
            "get": lambda n: client.hgetall(key),
            "update": lambda n: client.hset(key, ".progress", str(n)),
        },
    )


async def raw_concurrent(client: aioredis.Redis, duration: float, prefix: str, tasks: int = TASKS) -> float:
    mapping = _raw_encode(VALUE)

    def make(i: int) -> Any:
        key = f"{prefix}:r{i}"
        box = [0]

        async def step() -> None:
            box[0] += 1
            await client.hset(key, mapping=mapping)
            await client.hgetall(key)
            await client.hset(key, ".progress", str(box[0]))

        return step

    n, elapsed = await concurrent_loop(duration, tasks, make)
    return 3 * n / elapsed


def redis_benchmark_evalsha(url: str, sha: str, keys: list[str], channel: str, duration: float) -> float | None:
    """Requests/s of EVALSHA state/save from redis-benchmark (64 clients); None without the binary."""
    binary = shutil.which("redis-benchmark")
    if not binary:
        return None
    parts = urlsplit(url)
    conn = (
        ["-s", parts.path]
        if parts.scheme == "unix"
        else ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379)]
    )
    if parts.password:
        conn += ["-a", parts.password]
    n = max(5000, int(duration * 40000))
    fields = [x for k, v in _raw_encode(VALUE).items() for x in (k, v)]
    cmd = [
        binary,
        *conn,
        "-c",
        str(TASKS),
        "-n",
        str(n),
        "-r",
        "100000000",
        "--csv",
        "EVALSHA",
        sha,
        str(len(keys)),
        *keys,
        "op__rand_int__",
        channel,
        "bench-rb",
        "",
        "0",
        *fields,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=max(60, duration * 20))
    if "Error from server" in out.stdout or "Error from server" in out.stderr:
        raise RuntimeError(f"redis-benchmark EVALSHA got error replies: {out.stdout[-300:]} {out.stderr[-300:]}")
    rows = list(csv.reader(io.StringIO(out.stdout)))
    for row in reversed(rows):
        if len(row) >= 2:
            try:
                return float(row[1])
            except ValueError:
                continue
    raise RuntimeError(f"could not parse redis-benchmark output: {out.stdout[-500:]} {out.stderr[-500:]}")


async def run(
    url: str, duration: float = 2.0, repeats: int = 3, peers_python: str | None = None, tasks: int = TASKS
) -> Section:
    """The core-state scenario; ``peers_python=None`` skips the agenticaiframework comparison."""
    sec = Section("Core state (save + get + update)")
    t_start = time.perf_counter()
    rid = run_id()
    prefix = f"bench{rid}:"
    backend = RedisBackend(url, key_prefix=prefix, connection_pool_size=POOL)
    state = StateManager(backend=backend)
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=POOL, decode_responses=True)
    raw = aioredis.Redis(connection_pool=pool)
    # Sequential latency is compared with redis-py's default client (its ConnectionPool): ours sends a
    # lone call on a held connection, so the bounded pool's checkout would only slow the baseline down.
    raw_default = aioredis.Redis.from_url(url, decode_responses=True)
    await backend.connect()
    noap_backend = RedisBackend(url, key_prefix=prefix, connection_pool_size=POOL, autopipeline=False)
    noap = StateManager(backend=noap_backend)
    await noap_backend.connect()
    # warm up both clients (connections, script cache)
    await ours_sequential(state, 0.1, "warm")
    await raw_sequential(raw_default, 0.1, f"{prefix}rawwarm")
    rb_keys = state._entity_keys("bench-rb")
    rb_sha = backend._runner.library["state/save"].sha if backend._runner else ""
    rb_channel = backend.channel("state", "bench-rb")
    rb_note_done = False
    try:
        for _ in range(repeats):
            r = await ours_sequential(state, duration, "seq")
            for op in ("save", "get", "update"):
                sec.add(f"ours {op} p50 (sequential)", _ns_to_us(pct(r["lat"][op], 50)), "µs")
            sec.add("ours ops/s (sequential)", r["ops"] / r["elapsed"], "ops/s", "higher")
            r = await raw_sequential(raw_default, duration, f"{prefix}rawseq")
            for op, cmd in (("save", "HSET"), ("get", "HGETALL"), ("update", "HSET 1 field")):
                sec.add(f"raw redis-py {cmd} p50 (sequential)", _ns_to_us(pct(r["lat"][op], 50)), "µs")
            sec.add("raw redis-py ops/s (sequential)", r["ops"] / r["elapsed"], "ops/s", "higher")
            if peers_python:
                p = await asyncio.to_thread(
                    peers_mod.run_script,
                    peers_python,
                    "peer_agentic.py",
                    {"url": url, "mode": "seq", "duration": duration, "prefix": prefix + "af"},
                )
                for op in ("save", "get", "update"):
                    sec.add(f"agenticaiframework {op} p50 (sequential)", _ns_to_us(p["lat_ns"][op]), "µs")
                sec.add("agenticaiframework ops/s (sequential)", p["ops"] / p["elapsed"], "ops/s", "higher")
            sec.add(
                f"ours ops/s ({tasks} tasks)", await ours_concurrent(state, duration, "conc", tasks), "ops/s", "higher"
            )
            sec.add(
                f"ours ops/s ({tasks} tasks, autopipeline off)",
                await ours_concurrent(noap, duration, "concnoap", tasks),
                "ops/s",
                "higher",
            )
            sec.add(
                f"raw redis-py ops/s ({tasks} tasks)",
                await raw_concurrent(raw, duration, prefix + "rawc", tasks),
                "ops/s",
                "higher",
            )
            if peers_python:
                p = await asyncio.to_thread(
                    peers_mod.run_script,
                    peers_python,
                    "peer_agentic.py",
                    {"url": url, "mode": "conc", "duration": duration, "tasks": tasks, "prefix": prefix + "af"},
                )
                sec.add(f"agenticaiframework ops/s ({tasks} threads)", p["ops"] / p["elapsed"], "ops/s", "higher")
            rps = await asyncio.to_thread(redis_benchmark_evalsha, url, rb_sha, rb_keys, rb_channel, duration)
            if rps is None:
                if not rb_note_done:
                    sec.notes.append("redis-benchmark not found on PATH: the server-limit comparison is skipped.")
                    rb_note_done = True
            else:
                sec.add("redis-benchmark EVALSHA state/save req/s (64 clients)", rps, "req/s", "higher")
    finally:
        await state.close()
        await backend.close()
        await noap.close()
        await noap_backend.close()
        await delete_prefix(url, f"{prefix}*")
        await delete_prefix(url, f"state:{prefix}af*")
        await raw.aclose()
        await raw_default.aclose()
        await pool.disconnect()
    sec.comparisons += [
        Comparison(
            "save p50 / raw HSET p50 (sequential)",
            "ours save p50 (sequential)",
            "raw redis-py HSET p50 (sequential)",
            "<= 1.3",
        ),
        Comparison("get p50 / raw HGETALL p50", "ours get p50 (sequential)", "raw redis-py HGETALL p50 (sequential)"),
        Comparison(
            "update p50 / raw HSET p50", "ours update p50 (sequential)", "raw redis-py HSET 1 field p50 (sequential)"
        ),
        Comparison(
            f"ops/s ({tasks} tasks) / raw redis-py",
            f"ours ops/s ({tasks} tasks)",
            f"raw redis-py ops/s ({tasks} tasks)",
        ),
        Comparison(
            f"ops/s ({tasks} tasks) / redis-benchmark EVALSHA save",
            f"ours ops/s ({tasks} tasks)",
            "redis-benchmark EVALSHA state/save req/s (64 clients)",
        ),
        Comparison(
            "ops/s (sequential) / agenticaiframework",
            "ours ops/s (sequential)",
            "agenticaiframework ops/s (sequential)",
        ),
        Comparison(
            f"ops/s ({tasks} tasks) / agenticaiframework ({tasks} threads)",
            f"ours ops/s ({tasks} tasks)",
            f"agenticaiframework ops/s ({tasks} threads)",
            ">= 3",
        ),
        Comparison(
            f"autopipeline off: ops/s ({tasks} tasks) / agenticaiframework",
            f"ours ops/s ({tasks} tasks, autopipeline off)",
            f"agenticaiframework ops/s ({tasks} threads)",
        ),
        Comparison(
            f"autopipeline on / off (ops/s, {tasks} tasks)",
            f"ours ops/s ({tasks} tasks)",
            f"ours ops/s ({tasks} tasks, autopipeline off)",
        ),
    ]
    sec.notes.append(
        f"both clients use a connection pool of {POOL} (the library's default); ours pipelines concurrent "
        "script calls (autopipeline, the redis backend's default; 'autopipeline off' is the same run "
        "with RedisBackend(autopipeline=False)), raw redis-py sends one command per round trip; "
        "values are the seed's "
        "3-field agent state; ops/s counts save, get and update as one op each. agenticaiframework has no "
        "partial update: its update is get + merge + save, and its API is synchronous, so its "
        f"concurrent run uses {tasks} threads."
    )
    sec.seconds = time.perf_counter() - t_start
    return sec

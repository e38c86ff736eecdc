"""Tool cache: hit-path latency and throughput of get_cached_result / get_or_compute, vs a raw HGETALL."""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis

from agentstate_redis import RedisBackend
from agentstate_redis.tools import ToolCacheEntry, ToolStateManager, hash_parameters

from .common import Comparison, Section, concurrent_loop, delete_prefix, pct, run_id

TASKS = 64
PARAMS = {"query": "AI news", "limit": 10}
RESULT = {"items": [{"title": f"result {i}", "url": f"https://example.com/{i}", "score": i / 10} for i in range(10)]}


async def _seq(duration: float, call: Any) -> list[int]:
    clock = time.perf_counter_ns
    lat: list[int] = []
    end = time.perf_counter() + duration
    while time.perf_counter() < end:
        t0 = clock()
        await call()
        lat.append(clock() - t0)
    return lat


async def run(url: str, duration: float = 2.0, repeats: int = 3, tasks: int = TASKS) -> Section:
    sec = Section("Tool cache (hit path)")
    t_start = time.perf_counter()
    prefix = f"bench{run_id()}:"
    backend = RedisBackend(url, key_prefix=prefix)
    tools = ToolStateManager(backend=backend, cache_results=True, cache_ttl=3600)
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=backend.pool_size, decode_responses=True)
    raw = aioredis.Redis(connection_pool=pool)
    try:
        await backend.connect()
        await tools.cache_result(ToolCacheEntry(tool_name="search_web", parameters=PARAMS, result=RESULT))
        cache_key = tools._cache_keys("search_web", hash_parameters(PARAMS)).base

        async def compute() -> Any:
            raise AssertionError("a hit must not compute")

        variants = {
            "get_cached_result": lambda: tools.get_cached_result("search_web", PARAMS),
            "get_cached_result(count=False)": lambda: tools.get_cached_result("search_web", PARAMS, count=False),
            "get_or_compute (hit)": lambda: tools.get_or_compute("search_web", PARAMS, compute),
            "raw redis-py HGETALL": lambda: raw.hgetall(cache_key),
        }
        step = duration / 2 / len(variants)
        for _ in range(repeats):
            for name, call in variants.items():
                lat = await _seq(step, call)
                sec.add(f"{name} p50", pct(lat, 50) / 1000, "µs")
                sec.add(f"{name} p99", pct(lat, 99) / 1000, "µs")
                n, elapsed = await concurrent_loop(step, tasks, lambda i, call=call: call)
                sec.add(f"{name} hits/s ({tasks} tasks)", n / elapsed, "hits/s", "higher")
    finally:
        await backend.close()
        await delete_prefix(url, f"{prefix}*")
        await raw.aclose()
        await pool.disconnect()
    for name in ("get_cached_result", "get_cached_result(count=False)", "get_or_compute (hit)"):
        sec.comparisons.append(Comparison(f"{name} p50 / raw HGETALL p50", f"{name} p50", "raw redis-py HGETALL p50"))
        sec.comparisons.append(
            Comparison(
                f"{name} hits/s / raw HGETALL",
                f"{name} hits/s ({tasks} tasks)",
                f"raw redis-py HGETALL hits/s ({tasks} tasks)",
            )
        )
    sec.notes.append(
        "a ~0.8 KB search result; get_cached_result counts the hit in the tool's stats by default "
        "in the same script call; raw HGETALL reads the same cache hash."
    )
    sec.seconds = time.perf_counter() - t_start
    return sec

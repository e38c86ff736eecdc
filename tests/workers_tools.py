"""Worker processes for the tool-manager tests (spawned by tests.procs.run_processes)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as aioredis

from agentstate_redis.tools import ToolExecution, ToolStateManager, hash_parameters


async def _barrier(redis_url: str, name: str, parties: int) -> None:
    """Wait until ``parties`` workers reached this point (so they really run at once)."""
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        await client.incr(name)
        deadline = time.monotonic() + 60
        while int(await client.get(name) or 0) < parties:
            if time.monotonic() > deadline:
                raise TimeoutError(f"barrier {name}: not all {parties} workers arrived")
            await asyncio.sleep(0.005)
    finally:
        await client.aclose()


def run_executions(redis_url: str, prefix: str, worker: int, count: int, parties: int) -> int:
    """Start and finish ``count`` executions of tool 'search'; every 4th fails. Durations 1..count ms."""

    async def run() -> int:
        async with ToolStateManager(persistence="redis", redis_url=redis_url, key_prefix=prefix) as tools:
            await _barrier(redis_url, prefix + "barrier:exec", parties)
            for j in range(count):
                eid = f"w{worker}-{j}"
                await tools.start_execution(ToolExecution(execution_id=eid, tool_name="search", parameters={"j": j}))
                if j % 4 == 0:
                    await tools.fail_execution(eid, "timeout", duration_ms=j + 1)
                else:
                    await tools.complete_execution(eid, {"j": j}, duration_ms=j + 1)
                # 1 hit (entry seeded by the test) and 1 miss per 10 executions
                if j % 10 == 0:
                    await tools.get_cached_result("search", {"q": "seeded"})
                    await tools.get_cached_result("search", {"q": f"missing-{worker}-{j}"})
            return count

    return asyncio.run(run())


def poll_retries(redis_url: str, prefix: str, parties: int, batch: int) -> list[str]:
    """Claim due retries in small batches until none are left; return the claimed execution ids."""

    async def run() -> list[str]:
        async with ToolStateManager(persistence="redis", redis_url=redis_url, key_prefix=prefix) as tools:
            await _barrier(redis_url, prefix + "barrier:retry", parties)
            claimed: list[str] = []
            while True:
                got = await tools.get_pending_retries(claim=True, limit=batch)
                if not got:
                    return claimed
                claimed += [r.execution_id for r in got]

    return asyncio.run(run())


def compute_once(redis_url: str, prefix: str, worker: int, parties: int) -> dict[str, Any]:
    """Ask get_or_compute for one missing entry; the compute counts itself in Redis and is slow."""

    async def run() -> dict[str, Any]:
        counter = aioredis.from_url(redis_url, decode_responses=True)

        async def compute() -> dict[str, Any]:
            await counter.incr(prefix + "computed")
            await asyncio.sleep(1.0)
            return {"answer": 42, "by": worker}

        # the same parameters, built in a worker-specific key order
        items = [("query", "AI news"), ("limit", 10), ("filters", {"lang": "en", "since": 2024})]
        params = dict(items[worker % 3 :] + items[: worker % 3])
        try:
            async with ToolStateManager(persistence="redis", redis_url=redis_url, key_prefix=prefix) as tools:
                await _barrier(redis_url, prefix + "barrier:compute", parties)
                result = await tools.get_or_compute("search", params, compute, ttl=60, lock_timeout=30)
            return {"result": result, "hash": hash_parameters(params), "order": list(params)}
        finally:
            await counter.aclose()

    return asyncio.run(run())

"""Tool-manager guarantees across real processes on a real Redis."""

from __future__ import annotations

import redis.asyncio as aioredis

from agentstate_redis.backends.redis import RedisBackend
from agentstate_redis.tools import RetryState, ToolCacheEntry, ToolStateManager, hash_parameters

from ..procs import run_processes
from ..workers_tools import compute_once, poll_retries, run_executions


async def test_stats_are_exact_with_8_processes_x_100_executions(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    tools = ToolStateManager(backend=redis_backend)
    await tools.cache_result(ToolCacheEntry(tool_name="search", parameters={"q": "seeded"}, result=[1], ttl=600))
    done = run_processes(run_executions, [(redis_url, prefix, w, 100, 8) for w in range(8)])
    assert done == [100] * 8

    stats = await tools.get_tool_stats("search")
    assert stats.total_executions == 800
    assert stats.successful_executions == 600 and stats.failed_executions == 200
    assert stats.running_executions == 0
    assert stats.success_rate == 0.75 and stats.error_rate == 0.25
    assert stats.total_duration_ms == 8 * sum(range(1, 101))
    assert stats.avg_duration_ms == 50.5
    assert (stats.cache_hits, stats.cache_misses, stats.cache_hit_rate) == (80, 80, 0.5)
    history = await tools.get_execution_history("search", limit=1000)
    assert len(history) == 800 and len({e.execution_id for e in history}) == 800


async def test_two_pollers_claim_each_due_retry_exactly_once(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    tools = ToolStateManager(backend=redis_backend)
    ids = [f"exec-{i}" for i in range(300)]
    for eid in ids:
        await tools.update_retry_state(RetryState(execution_id=eid, attempts=1, max_attempts=5), delay=0)
    await tools.update_retry_state(RetryState(execution_id="later", attempts=1), delay=3600)

    claimed = run_processes(poll_retries, [(redis_url, prefix, 2, 3), (redis_url, prefix, 2, 3)])
    everything = claimed[0] + claimed[1]
    assert sorted(everything) == sorted(ids)  # each due retry once, none twice, the future one not
    assert claimed[0] and claimed[1]  # both pollers really took part
    assert [r.execution_id for r in await tools.get_pending_retries(claim=False)] == ["later"]


async def test_ten_processes_get_or_compute_compute_once(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    results = run_processes(compute_once, [(redis_url, prefix, w, 10) for w in range(10)])

    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        assert await client.get(prefix + "computed") == "1"
    finally:
        await client.aclose()
    assert len({r["result"]["by"] for r in results}) == 1
    assert all(r["result"]["answer"] == 42 for r in results)
    # the same parameters in three key orders hash identically in every process
    assert len({tuple(r["order"]) for r in results}) == 3
    assert {r["hash"] for r in results} == {
        hash_parameters({"query": "AI news", "limit": 10, "filters": {"since": 2024, "lang": "en"}})
    }
    stats = await ToolStateManager(backend=redis_backend).get_tool_stats("search")
    assert (stats.cache_misses, stats.cache_hits) == (1, 9)

"""Tool manager behaviour on every backend (memory, file, redis)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from redis.crc import key_slot

from agentstate_redis import (
    AlreadyExistsError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
)
from agentstate_redis.backends.base import Backend
from agentstate_redis.backends.redis import RedisBackend
from agentstate_redis.events import ChangeEvent
from agentstate_redis.tools import (
    RetryState,
    ToolCacheEntry,
    ToolExecution,
    ToolExecutionStatus,
    ToolStateManager,
    hash_parameters,
)

from ..cluster_cases import on_cluster


@pytest.fixture
def tools(backend: Backend) -> ToolStateManager:
    return ToolStateManager(backend=backend, cache_results=True, cache_ttl=3600)


async def wait_for(predicate: Any, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


# -- executions and stats -------------------------------------------------------------------------


@on_cluster
async def test_seed_example_execution_tracking(tools: ToolStateManager) -> None:
    execution = ToolExecution(
        execution_id="exec_001",
        tool_name="search_web",
        status=ToolExecutionStatus.RUNNING,
        started_at=datetime.now(),
        parameters={"query": "AI news"},
    )
    started = await tools.start_execution(execution)
    assert started.status is ToolExecutionStatus.RUNNING and started.parameters == {"query": "AI news"}

    done = await tools.complete_execution(execution_id="exec_001", result={"results": [1, 2]}, duration_ms=1500)
    assert done.status is ToolExecutionStatus.COMPLETED
    assert done.result == {"results": [1, 2]} and done.duration_ms == 1500
    assert done.completed_at is not None and done.started_at == execution.started_at

    history = await tools.get_execution_history(tool_name="search_web", limit=100)
    assert [e.execution_id for e in history] == ["exec_001"]
    stats = await tools.get_tool_stats("search_web")
    assert (stats.total_executions, stats.success_rate, stats.avg_duration_ms) == (1, 1.0, 1500.0)


async def test_history_is_newest_first_and_capped(backend: Backend) -> None:
    tools = ToolStateManager(backend=backend, history_limit=3)
    for i in range(5):
        await tools.start_execution(ToolExecution(execution_id=f"e{i}", tool_name="calc"))
    assert [e.execution_id for e in await tools.get_execution_history("calc", limit=10)] == ["e4", "e3", "e2"]
    assert [e.execution_id for e in await tools.get_execution_history("calc", limit=2)] == ["e4", "e3"]
    with pytest.raises(NotFoundError):  # trimmed executions are deleted, not just unlisted
        await tools.get_execution("e0")
    assert (await tools.get_tool_stats("calc")).total_executions == 5


@on_cluster
async def test_start_twice_is_harmless_and_unknown_completion_is_an_error(tools: ToolStateManager) -> None:
    first = await tools.start_execution(ToolExecution(execution_id="e1", tool_name="calc", parameters={"x": 1}))
    again = await tools.start_execution(ToolExecution(execution_id="e1", tool_name="calc", parameters={"x": 2}))
    assert again == first  # the stored one, unchanged
    assert (await tools.get_tool_stats("calc")).total_executions == 1

    with pytest.raises(AlreadyExistsError):  # an execution id belongs to one tool
        await tools.start_execution(ToolExecution(execution_id="e1", tool_name="other"))
    with pytest.raises(NotFoundError) as err:
        await tools.complete_execution("nope", {"r": 1}, 10)
    assert err.value.id == "nope"
    with pytest.raises(NotFoundError):
        await tools.fail_execution("nope", "boom", tool_name="calc")

    await tools.complete_execution("e1", 3, 5)
    with pytest.raises(InvalidTransitionError) as bad:
        await tools.fail_execution("e1", "late failure")
    assert bad.value.status == "completed"
    stats = await tools.get_tool_stats("calc")
    assert (stats.successful_executions, stats.failed_executions) == (1, 0)


@on_cluster
async def test_rates_durations_and_server_measured_duration(tools: ToolStateManager) -> None:
    for i in range(4):
        await tools.start_execution(ToolExecution(execution_id=f"e{i}", tool_name="fetch"))
    await tools.complete_execution("e0", "ok", 100)
    await tools.complete_execution("e1", "ok", 200.5)
    await tools.complete_execution("e2", "ok", tool_name="fetch")  # measured by the server's clock
    failed = await tools.fail_execution("e3", RuntimeError("connection reset"), 300)
    assert failed.error == "RuntimeError: connection reset" and failed.status is ToolExecutionStatus.FAILED

    stats = await tools.get_tool_stats("fetch")
    measured = (await tools.get_execution("e2")).duration_ms
    assert measured is not None and measured >= 0
    assert stats.total_executions == 4 and stats.running_executions == 0
    assert (stats.success_rate, stats.error_rate) == (0.75, 0.25)
    assert stats.total_duration_ms == pytest.approx(600.5 + measured)
    assert stats.avg_duration_ms == pytest.approx((600.5 + measured) / 4)
    empty = await tools.get_tool_stats("never-used")
    assert (empty.total_executions, empty.success_rate, empty.cache_hit_rate) == (0, 0.0, 0.0)


async def test_a_retried_call_with_the_same_op_id_applies_once(
    tools: ToolStateManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    await tools.start_execution(ToolExecution(execution_id="e1", tool_name="calc"))
    monkeypatch.setattr(tools, "_op_id", lambda: "fixed-op")
    first = await tools.complete_execution("e1", 1, 10)
    second = await tools.complete_execution("e1", 1, 10)  # what tenacity sends after a dropped reply
    assert first == second
    stats = await tools.get_tool_stats("calc")
    assert (stats.successful_executions, stats.total_duration_ms) == (1, 10)


async def test_bad_input_is_refused_before_anything_is_written(tools: ToolStateManager) -> None:
    with pytest.raises(InvalidInputError, match="pending or running"):
        await tools.start_execution(
            ToolExecution(execution_id="e1", tool_name="t", status=ToolExecutionStatus.COMPLETED)
        )
    with pytest.raises(InvalidInputError, match="parameters"):
        await tools.start_execution(ToolExecution(execution_id="e1", tool_name="t", parameters={"x": float("nan")}))
    with pytest.raises(InvalidInputError, match="execution_id"):
        ToolExecution(execution_id="", tool_name="t")
    await tools.start_execution(ToolExecution(execution_id="e1", tool_name="t"))
    with pytest.raises(InvalidInputError, match="duration_ms"):
        await tools.complete_execution("e1", 1, -5)
    with pytest.raises(InvalidInputError, match="result"):
        await tools.complete_execution("e1", {"x": object()})
    with pytest.raises(InvalidInputError, match="error"):
        await tools.fail_execution("e1", "")
    with pytest.raises(InvalidInputError, match="limit"):
        await tools.get_execution_history("t", limit=0)
    assert (await tools.get_execution("e1")).status is ToolExecutionStatus.RUNNING
    with pytest.raises(InvalidInputError, match="cache_ttl"):
        ToolStateManager(persistence="memory", cache_ttl=0)


@on_cluster
async def test_start_and_complete_publish_tool_events(tools: ToolStateManager) -> None:
    seen: list[ChangeEvent] = []
    await tools.subscribe_events("search*", seen.append)
    await tools.start_execution(ToolExecution(execution_id="e1", tool_name="search_web"))
    await tools.complete_execution("e1", [], 1)
    await wait_for(lambda: len(seen) >= 2)
    assert [(e.kind, e.id, e.op, e.data["execution_id"]) for e in seen[:2]] == [
        ("tool", "search_web", "start", "e1"),
        ("tool", "search_web", "complete", "e1"),
    ]


async def test_values_round_trip_exactly_through_the_scripts(tools: ToolStateManager) -> None:
    result = {"big": 2**62 + 1, "empty": [], "obj": {}, "text": '日本 é \\/ "q"', "f": 0.1}
    await tools.start_execution(ToolExecution(execution_id="u1", tool_name="tööl", parameters={"n": 2**60}))
    done = await tools.complete_execution("u1", result, 1)
    assert done.result == result and done.parameters == {"n": 2**60}
    await tools.start_execution(ToolExecution(execution_id="u2", tool_name="tööl"))
    assert (await tools.fail_execution("u2", "échec: délai")).error == "échec: délai"
    assert (await tools.get_execution_history("tööl"))[1].result == result


# -- parameters hash and cache --------------------------------------------------------------------


def test_parameters_hash_is_canonical() -> None:
    a = {"query": "AI news", "limit": 10, "filters": {"lang": "en", "since": 2024}, "tags": ["x", "y"]}
    b = {"tags": ["x", "y"], "filters": {"since": 2024, "lang": "en"}, "limit": 10, "query": "AI news"}
    assert hash_parameters(a) == hash_parameters(b)
    # a fixed vector: sha256(b'v1\n' + '{"a":[1.5,"é",null,true],"b":1}'.encode()), same on every host
    assert hash_parameters({"b": 1, "a": [1.5, "é", None, True]}) == (
        "1d7e4d6dd99b2e5464910b3d44a772ee31e95eef7154a8dfa77f01075824eced"
    )
    assert hash_parameters({"n": 1}) != hash_parameters({"n": "1"})
    assert len(hash_parameters({})) == 64
    with pytest.raises(InvalidInputError):
        hash_parameters({1: "non-string key"})  # type: ignore[dict-item]


@on_cluster
async def test_cache_hit_miss_and_hit_rate(tools: ToolStateManager) -> None:
    entry = ToolCacheEntry(
        tool_name="search_web",
        parameters_hash=hash_parameters({"query": "AI news"}),
        result={"results": [1]},
        created_at=datetime.now(),
        ttl=3600,
    )
    stored = await tools.cache_result(entry)
    assert stored is not None and stored.created_at is not None

    cached = await tools.get_cached_result(tool_name="search_web", parameters={"query": "AI news"})
    assert cached is not None and cached.result == {"results": [1]}
    assert 3500 < (cached.ttl or 0) <= 3600
    assert await tools.get_cached_result("search_web", {"query": "other"}) is None
    assert (await tools.get_cached_result("search_web", parameters_hash=entry.parameters_hash)) is not None

    stats = await tools.get_tool_stats("search_web")
    assert (stats.cache_hits, stats.cache_misses) == (2, 1)
    assert stats.cache_hit_rate == pytest.approx(2 / 3)

    assert await tools.invalidate_cached_result("search_web", {"query": "AI news"}) is True
    assert await tools.get_cached_result("search_web", {"query": "AI news"}, count=False) is None
    with pytest.raises(InvalidInputError, match="not the hash"):
        ToolCacheEntry(tool_name="t", parameters={"a": 1}, parameters_hash="abc123", result=1)


async def test_cache_disabled_stores_nothing(backend: Backend) -> None:
    tools = ToolStateManager(backend=backend, cache_results=False)
    assert await tools.cache_result(ToolCacheEntry(tool_name="t", parameters={}, result=1)) is None
    assert await tools.get_cached_result("t", {}) is None
    calls = []
    assert await tools.get_or_compute("t", {}, lambda: calls.append(1) or len(calls)) == 1
    assert await tools.get_or_compute("t", {}, lambda: calls.append(1) or len(calls)) == 2


@on_cluster
async def test_cache_entry_expires_by_ttl_and_the_expiry_reaches_a_subscriber(tools: ToolStateManager) -> None:
    events: list[ChangeEvent] = []
    await tools.subscribe_cache("search_web", events.append)
    params = {"query": "AI news"}
    await tools.cache_result(ToolCacheEntry(tool_name="search_web", parameters=params, result=[1], ttl=0.3))
    await asyncio.sleep(0.4)
    # a read expires the entry at once (the server's active expiry cycle may take minutes to get to
    # it among many keys with a TTL) and the server notifies the expiry
    assert await tools.get_cached_result("search_web", params) is None
    await wait_for(lambda: any(e.op == "expired" for e in events))
    expired = next(e for e in events if e.op == "expired")
    assert expired.kind == "toolcache" and expired.id == f"search_web:{hash_parameters(params)}"
    assert events[0].op == "set"


@on_cluster
async def test_get_or_compute_caches_async_results_and_releases_the_lock_on_failure(tools: ToolStateManager) -> None:
    async def boom() -> Any:
        raise RuntimeError("tool crashed")

    with pytest.raises(RuntimeError, match="tool crashed"):
        await tools.get_or_compute("calc", {"x": 1}, boom, lock_timeout=60)

    async def compute() -> dict[str, Any]:
        return {"sum": 3}

    # the failed computer released its lock: the next caller computes at once (no 60 s wait)
    assert await asyncio.wait_for(tools.get_or_compute("calc", {"x": 1}, compute, ttl=60), 10) == {"sum": 3}
    assert await tools.get_or_compute("calc", {"x": 1}, lambda: {"sum": -1}) == {"sum": 3}
    cached = await tools.get_cached_result("calc", {"x": 1}, count=False)
    assert cached is not None and 0 < (cached.ttl or 0) <= 60
    stats = await tools.get_tool_stats("calc")
    assert (stats.cache_misses, stats.cache_hits) == (1, 1)


@on_cluster
async def test_get_or_compute_takes_over_an_expired_lock(tools: ToolStateManager) -> None:
    events: list[ChangeEvent] = []
    await tools.subscribe_cache("calc", events.append)
    ck = tools._cache_keys("calc", hash_parameters({"x": 2}))
    # a computer that took the lock and died
    part = tools._entry_part("calc", hash_parameters({"x": 2}))
    reply = await tools.backend.run(
        "tools/cache_acquire", tools._entity_keys("calc"), ["", "", "calc", part, "dead", 200]
    )
    assert reply[0] == "compute"
    result = await asyncio.wait_for(tools.get_or_compute("calc", {"x": 2}, lambda: "mine"), 10)
    assert result == "mine"
    await wait_for(lambda: any(e.op == "set" for e in events))
    await asyncio.sleep(0.3)  # the lock's expiry (a sub-key of the tool) is no cache event
    assert [(e.op, e.id) for e in events] == [("set", ck.ident)]


def _spy_on_scripts(tools: ToolStateManager, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    run = tools.backend.run

    async def spy(name: str, keys: Any, args: Any = ()) -> Any:
        calls.append(name)
        return await run(name, keys, args)

    monkeypatch.setattr(tools.backend, "run", spy)
    return calls


async def test_a_cache_lookup_is_one_script_call_that_counts(
    tools: ToolStateManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry lives under the tool's hash tag, so reading it and counting the hit or miss is one
    script (one round trip, and legal on Redis Cluster: every key in one slot)."""
    params = {"query": "AI news"}
    ck = tools._cache_keys("search_web", hash_parameters(params))
    prefix = tools.keys.prefix
    assert ck.base == f"{prefix}{{tool:search_web}}:cache:{hash_parameters(params)}"
    assert ck.lock == f"{prefix}{{tool:search_web}}:cachelock:{hash_parameters(params)}"
    assert {key_slot(k.encode()) for k in (ck.base, ck.lock, ck.tool("stats"), ck.tool.ops)} == {
        key_slot(ck.tool.base.encode())
    }
    await tools.cache_result(ToolCacheEntry(tool_name="search_web", parameters=params, result=[1]))
    calls = _spy_on_scripts(tools, monkeypatch)

    assert (await tools.get_cached_result("search_web", params)) is not None
    assert calls == ["tools/cache_get"]
    assert await tools.get_cached_result("search_web", {"query": "other"}) is None
    assert calls[1:] == ["tools/cache_get"]
    assert (await tools.get_cached_result("search_web", params, count=False)) is not None
    assert calls[2:] == ["tools/cache_peek"]
    assert await tools.get_or_compute("search_web", params, lambda: [2]) == [1]
    assert calls[3:] == ["tools/cache_acquire"]
    assert await tools.get_or_compute("search_web", {"query": "new"}, lambda: [3]) == [3]
    assert calls[4:] == ["tools/cache_acquire", "tools/cache_set"]
    stats = await tools.get_tool_stats("search_web")
    assert (stats.cache_hits, stats.cache_misses) == (2, 2)


async def test_a_retried_cache_lookup_counts_once(tools: ToolStateManager, monkeypatch: pytest.MonkeyPatch) -> None:
    params = {"query": "AI news"}
    await tools.cache_result(ToolCacheEntry(tool_name="search_web", parameters=params, result=[1]))
    seen: list[ChangeEvent] = []
    await tools.subscribe_events("search_web", seen.append)
    # what tenacity sends after a dropped reply: the same op id again
    for op in ("hit-op", "miss-op", "compute-hit-op"):
        monkeypatch.setattr(tools, "_op_id", lambda op=op: op)
        for _ in range(2):
            if op == "hit-op":
                assert (await tools.get_cached_result("search_web", params)).result == [1]  # type: ignore[union-attr]
            elif op == "miss-op":
                assert await tools.get_cached_result("search_web", {"query": "none"}) is None
            else:
                assert await tools.get_or_compute("search_web", params, lambda: [2]) == [1]
    stats = await tools.get_tool_stats("search_web")
    assert (stats.cache_hits, stats.cache_misses) == (2, 1)
    await wait_for(lambda: len(seen) >= 3)
    await asyncio.sleep(0.1)
    assert [(e.kind, e.id, e.op) for e in seen] == [
        ("tool", "search_web", "cache_hit"),
        ("tool", "search_web", "cache_miss"),
        ("tool", "search_web", "cache_hit"),
    ]


async def _script_calls(backend: RedisBackend) -> int:
    stats = await backend.client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k in ("cmdstat_eval", "cmdstat_evalsha"))


async def test_a_cache_hit_is_one_evalsha_on_the_server(redis_backend: RedisBackend) -> None:
    tools = ToolStateManager(backend=redis_backend)
    params = {"query": "AI news"}
    await tools.cache_result(ToolCacheEntry(tool_name="search_web", parameters=params, result=[1]))
    await tools.get_cached_result("search_web", params)  # scripts loaded (NOSCRIPT fallback out of the way)
    before = await _script_calls(redis_backend)
    assert (await tools.get_cached_result("search_web", params)) is not None
    assert await tools.get_cached_result("search_web", {"query": "other"}) is None
    assert await _script_calls(redis_backend) - before == 2
    assert (await tools.get_tool_stats("search_web")).cache_hits == 2


# -- retries ---------------------------------------------------------------------------------------


async def server_now(backend: Backend) -> datetime:
    sec, usec = await backend.client.time()
    return datetime.fromtimestamp(int(sec) + int(usec) / 1e6, timezone.utc)


async def test_retries_are_scheduled_by_the_server_clock_and_claimed_once(tools: ToolStateManager) -> None:
    state = RetryState(
        execution_id="exec_002",
        tool_name="search_web",
        attempts=2,
        max_attempts=5,
        last_error="Connection timeout",
        next_retry_at=datetime.now() + timedelta(seconds=30),
        backoff_factor=2.0,
    )
    before = await server_now(tools.backend)
    scheduled = await tools.update_retry_state(state)
    assert scheduled.next_retry_at is not None
    assert timedelta(seconds=25) < scheduled.next_retry_at - before < timedelta(seconds=35)
    due_now = await tools.update_retry_state(RetryState(execution_id="exec_003", attempts=1), delay=0)

    pending = await tools.get_pending_retries(claim=False)
    assert [r.execution_id for r in pending] == ["exec_003", "exec_002"]
    assert pending[1].last_error == "Connection timeout" and pending[1].tool_name == "search_web"

    claimed = await tools.get_pending_retries()
    assert [r.execution_id for r in claimed] == ["exec_003"]
    assert claimed[0].next_retry_at == due_now.next_retry_at
    assert claimed[0].next_retry_at <= datetime.now(timezone.utc) + timedelta(seconds=5)  # the seed's, made aware
    assert await tools.get_pending_retries() == []  # claimed once
    assert await tools.clear_retry("exec_003") is True
    assert await tools.get_retry_state("exec_003") is None


async def test_backoff_claim_timeout_and_exhaustion(tools: ToolStateManager) -> None:
    before = await server_now(tools.backend)
    backoff = await tools.update_retry_state(
        RetryState(execution_id="e1", attempts=3, backoff_factor=3.0, max_attempts=9)
    )
    assert backoff.next_retry_at is not None  # 1 s * 3 ** 2
    assert timedelta(seconds=8) < backoff.next_retry_at - before < timedelta(seconds=10)

    await tools.update_retry_state(RetryState(execution_id="e2", attempts=1), delay=0)
    assert [r.execution_id for r in await tools.get_pending_retries(claim_timeout=0.2)] == ["e2"]
    # not resolved within the claim timeout: it comes due again (at-least-once)
    again: list[RetryState] = []

    async def poll() -> bool:
        again.extend(await tools.get_pending_retries(claim_timeout=0.2))
        return bool(again)

    deadline = asyncio.get_running_loop().time() + 10
    while not await poll():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    assert [r.execution_id for r in again] == ["e2"]

    done = await tools.update_retry_state(RetryState(execution_id="e2", attempts=3, max_attempts=3), delay=0)
    assert done.exhausted and done.next_retry_at is None
    assert [r.execution_id for r in await tools.get_pending_retries(claim=False)] == ["e1"]
    kept = await tools.get_retry_state("e2")
    assert kept is not None and kept.attempts == 3
    with pytest.raises(InvalidInputError, match="delay"):
        await tools.update_retry_state(RetryState(execution_id="e3"), delay=-1)
    with pytest.raises(InvalidInputError, match="limit"):
        await tools.get_pending_retries(limit=0)


async def test_list_retries_pages_the_schedule_in_due_order_and_count_retries_counts(tools: ToolStateManager) -> None:
    for i in range(7):  # due in the order of their ids, the last one first of all
        await tools.update_retry_state(RetryState(execution_id=f"r{i}", attempts=1), delay=0 if i == 6 else 60 + i)
    order = ["r6", "r0", "r1", "r2", "r3", "r4", "r5"]
    pages = [await tools.list_retries(offset=offset, limit=3) for offset in (0, 3, 6, 9)]
    assert [[r.execution_id for r in page] for page in pages] == [order[:3], order[3:6], order[6:], []]
    assert [r.execution_id for r in await tools.get_pending_retries(claim=False, limit=3)] == order[:3]
    assert await tools.count_retries() == (7, 1)
    assert [r.execution_id for r in await tools.get_pending_retries(claim=True)] == ["r6"]  # claimed: off the list
    assert [r.execution_id for r in await tools.list_retries(limit=100)] == order[1:]
    await tools.update_retry_state(RetryState(execution_id="r0", attempts=3, max_attempts=3))  # exhausted: off too
    assert [r.execution_id for r in await tools.list_retries()] == order[2:]
    assert await tools.count_retries() == (5, 0)
    for name, bad in (("offset", -1), ("limit", 0), ("offset", "1"), ("limit", True)):
        with pytest.raises(InvalidInputError, match=name):
            await tools.list_retries(**{name: bad})


async def test_a_retry_without_a_tool_name_gets_its_executions_tool(tools: ToolStateManager) -> None:
    await tools.start_execution(ToolExecution(execution_id="e1", tool_name="search_web"))
    await tools.fail_execution("e1", "timeout")
    scheduled = await tools.update_retry_state(RetryState(execution_id="e1", attempts=1, last_error="timeout"))
    assert scheduled.tool_name == "search_web"
    got = await tools.get_retry_state("e1")
    assert got is not None and got.tool_name == "search_web"
    assert [(r.execution_id, r.tool_name) for r in await tools.list_retries()] == [("e1", "search_web")]
    named = await tools.update_retry_state(RetryState(execution_id="e1", tool_name="other", attempts=2))
    assert named.tool_name == "other"  # a given name is kept as given
    unknown = await tools.update_retry_state(RetryState(execution_id="never-started", attempts=1))
    assert unknown.tool_name is None

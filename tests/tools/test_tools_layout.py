"""The tool layouts (agentstate_redis/tools/layouts.py) name the keys the previous release wrote:
the scripts build an execution's, a cached result's and a retry's key from a layout prefix and the
item's id, and land on the very keys written before."""

from __future__ import annotations

import asyncio

import pytest

from agentstate_redis.backends.base import Backend
from agentstate_redis.events import ChangeEvent
from agentstate_redis.tools import ToolCacheEntry, ToolExecutionStatus, ToolStateManager
from agentstate_redis.tools.layouts import RETRY_INDEX


@pytest.fixture
def tools(backend: Backend) -> ToolStateManager:
    return ToolStateManager(backend=backend, cache_results=True, cache_ttl=3600)


async def test_records_written_by_the_previous_release_are_read_and_finished(tools: ToolStateManager) -> None:
    """An execution, its link and a retry as the previous release's scripts stored them (their keys
    by name, as ``keys.py`` spells them)."""
    client, k = tools.backend.client, tools.keys.tool("search{web}")
    await client.hset(
        k("exec:e{1}"),
        mapping={
            "tool": "search{web}",
            "id": "e{1}",
            "status": "running",
            "doc": '{"parameters":{"q":1}}',
            "t0": "1735732800000",
            "seq": "1",
        },
    )
    await client.zadd(k("history"), {"e{1}": 1})
    await client.hset(k("stats"), mapping={"seq": "1", "started": "1", "last": "1735732800000"})
    await client.set(tools.keys.entity("toolexec", "e{1}").base, "search{web}", px=60_000)
    retries = tools.keys.index(RETRY_INDEX)
    await client.zadd(retries("due"), {"e{1}": 1})
    await client.hset(
        retries("retry:e{1}"),
        mapping={"id": "e{1}", "status": "scheduled", "due": "1", "doc": '{"attempts":1,"tool_name":"search{web}"}'},
    )

    assert (await tools.get_execution("e{1}")).parameters == {"q": 1}
    assert [e.execution_id for e in await tools.get_execution_history("search{web}")] == ["e{1}"]
    done = await tools.complete_execution("e{1}", result=[1], duration_ms=5)
    assert done.status == ToolExecutionStatus.COMPLETED and done.result == [1]
    stats = await tools.get_tool_stats("search{web}")
    assert (stats.total_executions, stats.successful_executions) == (1, 1)
    retry = await tools.get_retry_state("e{1}")
    assert retry is not None and retry.attempts == 1 and retry.tool_name == "search{web}"
    assert await tools.count_retries() == (1, 1)
    assert [r.execution_id for r in await tools.get_pending_retries(claim=True)] == ["e{1}"]
    assert await tools.clear_retry("e{1}") is True
    assert not await client.exists(retries("retry:e{1}"))


async def test_an_escaped_parameters_hash_lands_on_the_key_keys_py_names(tools: ToolStateManager) -> None:
    """A parameters hash with braces and percent signs is escaped in its keys: the scripts join the
    layout's ``cache:`` prefix and the escaped hash into exactly ``keys.tool_cache``'s key."""
    events: list[ChangeEvent] = []
    await tools.subscribe_cache("t{x}", events.append)
    ck = tools._cache_keys("t{x}", "h{1}%")
    client = tools.backend.client
    await client.hset(ck.base, mapping={"tool": "t{x}", "hash": "h{1}%", "result": "[0]", "created": "1"})
    old = await tools.get_cached_result("t{x}", parameters_hash="h{1}%")  # an entry of the previous release
    assert old is not None and old.result == [0]
    await tools.cache_result(ToolCacheEntry(tool_name="t{x}", parameters_hash="h{1}%", result=[1], ttl=60))
    assert await client.hget(ck.base, "result") == "[1]" and 0 < await client.pttl(ck.base) <= 60_000
    assert tools.keys.parse_expired(ck.base) == ("toolcache", "t{x}:h{1}%")
    assert await tools.invalidate_cached_result("t{x}", parameters_hash="h{1}%") is True
    assert not await client.exists(ck.base)
    assert await tools.get_or_compute("t{x}", {"q": 1}, lambda: "computed") == "computed"
    assert await client.exists(tools._cache_keys("t{x}", tools.parameters_hash({"q": 1})).base)
    deadline = asyncio.get_running_loop().time() + 10
    while len(events) < 3:  # set, delete, set: each on the entry's own channel
        assert asyncio.get_running_loop().time() < deadline, events
        await asyncio.sleep(0.02)
    assert [(e.op, e.id) for e in events][:2] == [("set", "t{x}:h{1}%"), ("delete", "t{x}:h{1}%")]

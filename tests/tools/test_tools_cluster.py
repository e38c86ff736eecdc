"""The tool manager's behaviour on a Redis Cluster of three primaries (every script is single-slot)."""

from __future__ import annotations

from typing import Any

import pytest

from agentstate_redis import RedisBackend
from agentstate_redis.tools import ToolStateManager

from . import test_tools

pytestmark = pytest.mark.cluster


@pytest.fixture
def cluster_tools(cluster_backend: RedisBackend) -> ToolStateManager:
    return ToolStateManager(backend=cluster_backend)


CASES = [
    test_tools.test_seed_example_execution_tracking,
    test_tools.test_start_twice_is_harmless_and_unknown_completion_is_an_error,
    test_tools.test_rates_durations_and_server_measured_duration,
    test_tools.test_start_and_complete_publish_tool_events,
    test_tools.test_cache_hit_miss_and_hit_rate,
    test_tools.test_cache_entry_expires_by_ttl_and_the_expiry_reaches_a_subscriber,
    test_tools.test_get_or_compute_caches_async_results_and_releases_the_lock_on_failure,
    test_tools.test_get_or_compute_takes_over_an_expired_lock,
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
async def test_tools_suite_on_cluster(cluster_tools: ToolStateManager, case: Any) -> None:
    await case(cluster_tools)


async def test_a_cache_lookup_is_one_script_call_on_cluster(
    cluster_tools: ToolStateManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lookup script touches the entry and the tool's stats: one slot, so no CROSSSLOT."""
    await test_tools.test_a_cache_lookup_is_one_script_call_that_counts(cluster_tools, monkeypatch)


async def test_a_retried_cache_lookup_counts_once_on_cluster(
    cluster_tools: ToolStateManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    await test_tools.test_a_retried_cache_lookup_counts_once(cluster_tools, monkeypatch)


async def test_retry_claims_on_cluster(cluster_tools: ToolStateManager) -> None:
    from agentstate_redis.tools import RetryState

    for i in range(20):
        await cluster_tools.update_retry_state(RetryState(execution_id=f"e{i}", attempts=1), delay=0)
    first = await cluster_tools.get_pending_retries(limit=15)
    second = await cluster_tools.get_pending_retries(limit=15)
    assert sorted(r.execution_id for r in first + second) == sorted(f"e{i}" for i in range(20))
    assert (len(first), len(second)) == (15, 5)

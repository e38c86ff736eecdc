"""The tool manager's behaviour (the tests of test_tools marked ``@on_cluster``, and more) on a Redis Cluster of
three primaries (every script is single-slot)."""

from __future__ import annotations

import pytest

from agentstate_redis.tools import ToolStateManager

from ..cluster_cases import cases_on_cluster, manager_on_cluster
from . import test_tools

pytestmark = pytest.mark.cluster


cluster_tools = manager_on_cluster(ToolStateManager)
test_tools_suite_on_cluster = cases_on_cluster(test_tools, ToolStateManager)


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

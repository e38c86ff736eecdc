"""The agents suite's key cases on a Redis Cluster of three primaries: every script is single-slot."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentstate_redis import AgentStateStore, RedisBackend

from . import test_agents
from .cluster import RedisClusterFixture

pytestmark = pytest.mark.cluster


@pytest.fixture
async def cluster_backend(redis_cluster: RedisClusterFixture, prefix: str) -> AsyncIterator[RedisBackend]:
    backend = RedisBackend(redis_cluster.url, key_prefix=prefix)
    assert backend.cluster
    await backend.connect()
    yield backend
    await backend.close()


CASES = [
    test_agents.test_snapshots_newest_first_with_retention,
    test_agents.test_checkpoint_latest_is_by_step_then_server_order,
    test_agents.test_tracking_and_checkpoint_round_trip,
    test_agents.test_lease_fences_writes,
    test_agents.test_recovery_skips_non_recoverable_and_limits_attempts,
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
async def test_agent_cases_on_cluster(cluster_backend: RedisBackend, case) -> None:  # type: ignore[no-untyped-def]
    await case(AgentStateStore(backend=cluster_backend, max_snapshots=3, max_checkpoints=3))

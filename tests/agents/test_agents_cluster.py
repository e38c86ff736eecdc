"""The agents suite's key cases on a Redis Cluster of three primaries: every script is single-slot."""

from __future__ import annotations

import pytest

from agentstate_redis import AgentStateStore, RedisBackend

from . import test_agents

pytestmark = pytest.mark.cluster


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

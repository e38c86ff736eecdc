"""The agents suite's key cases on a Redis Cluster of three primaries: every script is single-slot."""

from __future__ import annotations

import pytest

from agentstate_redis import AgentStateStore, RedisBackend

from . import test_agents, test_lineage

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


LINEAGE_CASES = [
    test_lineage.test_saves_chain_and_restore_branches,
    test_lineage.test_fork_in_one_agent_copies_restores_and_moves_the_head,
    test_lineage.test_fork_respects_retention,
    test_lineage.test_fork_into_another_agent,  # two agents, two slots: the two-step fork
    test_lineage.test_list_all_checkpoints_pages_by_agent_from_the_index,  # the index is a slot of its own
]


@pytest.mark.parametrize("case", LINEAGE_CASES, ids=lambda c: c.__name__)
async def test_lineage_cases_on_cluster(cluster_backend: RedisBackend, case) -> None:  # type: ignore[no-untyped-def]
    await case(AgentStateStore(backend=cluster_backend, max_checkpoints=4))

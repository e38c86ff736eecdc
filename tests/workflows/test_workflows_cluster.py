"""The workflow suite's key cases on a Redis Cluster of three primaries: every script is single-slot."""

from __future__ import annotations

import pytest

from agentstate_redis import RedisBackend, WorkflowStateManager

from . import test_workflows

pytestmark = pytest.mark.cluster


CASES = [
    test_workflows.test_seed_example,
    test_workflows.test_resending_the_same_step_is_harmless,
    test_workflows.test_automatic_checkpoints_every_interval_and_resume_from,
    test_workflows.test_lease_fencing,
    test_workflows.test_resume_and_resume_from_respect_a_live_lease,
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
async def test_workflow_cases_on_cluster(cluster_backend: RedisBackend, case) -> None:  # type: ignore[no-untyped-def]
    await case(WorkflowStateManager(backend=cluster_backend, checkpoint_interval=3))


async def test_listing_on_cluster(cluster_backend: RedisBackend) -> None:
    wf = WorkflowStateManager(backend=cluster_backend, checkpoint_interval=3)
    await test_workflows.test_listing_by_status_pages_and_repairs(wf, cluster_backend)


async def test_listing_drops_ghosts_on_cluster(cluster_backend: RedisBackend) -> None:
    wf = WorkflowStateManager(backend=cluster_backend, checkpoint_interval=3)
    await test_workflows.test_listing_drops_entries_of_workflows_that_no_longer_exist(wf, cluster_backend)


async def test_state_machine_on_cluster(cluster_backend: RedisBackend) -> None:
    wf = WorkflowStateManager(backend=cluster_backend, checkpoint_interval=3)
    for op in test_workflows.OPS:
        await test_workflows.test_state_machine_table(wf, op)

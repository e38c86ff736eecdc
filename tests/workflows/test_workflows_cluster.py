"""The workflow suite's key cases (marked ``@on_cluster``)
on a Redis Cluster of three primaries: every script is single-slot."""

from __future__ import annotations

from functools import partial

import pytest

from agentstate_redis import RedisBackend, WorkflowStateManager

from ..cluster_cases import cases_on_cluster
from . import test_workflows

pytestmark = pytest.mark.cluster


test_workflow_cases_on_cluster = cases_on_cluster(test_workflows, partial(WorkflowStateManager, checkpoint_interval=3))


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

"""The orchestration suite's key cases (marked ``@on_cluster``) on a Redis Cluster of three primaries: every script
(and the blocking claim's BLPOP) touches one team's hash tag only."""

from __future__ import annotations

import asyncio

import pytest

from agentstate_redis import OrchestrationStateManager, RedisBackend

from ..cluster_cases import cases_on_cluster
from . import test_orchestration as t

pytestmark = pytest.mark.cluster


test_orchestration_cases_on_cluster = cases_on_cluster(t)


async def test_queue_and_blocking_claim_on_cluster(cluster_backend: RedisBackend) -> None:
    orch = OrchestrationStateManager(backend=cluster_backend)
    for team in ("a", "b", "c"):  # teams land on different primaries
        await orch.create_team(team)
        await orch.enqueue_tasks(team, [{"id": "low", "priority": "low"}, {"id": "high", "priority": "high"}])
        first = await orch.claim_task(team, "w")
        second = await orch.claim_task(team, "w")
        assert first is not None and second is not None and (first.id, second.id) == ("high", "low")
    waiter = asyncio.ensure_future(orch.claim_task("b", "w", capabilities=["x"], wait=20))
    await asyncio.sleep(0.2)
    await orch.enqueue_task("b", {"id": "job", "type": "x"})
    task = await asyncio.wait_for(waiter, timeout=20)
    assert task is not None and task.id == "job"
    status = await orch.get_queue_status("b")
    assert status.in_progress_count == 3 and "job" in [t.id for t in status.in_progress]


async def test_flows_on_cluster(cluster_backend: RedisBackend) -> None:
    """A flow lives in one team (one hash tag): enqueue, settle, cascade and read it on any primary."""
    orch = OrchestrationStateManager(backend=cluster_backend)
    for team in ("fa", "fb", "fc"):
        await orch.create_team(team)
        await orch.enqueue_flow(
            team,
            [{"id": "w", "depends_on": ["r1", "r2"]}, {"id": "r1"}, {"id": "r2"}, {"id": "after", "depends_on": ["w"]}],
        )
        for expected in ("r1", "r2"):
            task = await orch.claim_task(team, "worker")
            assert task is not None and task.id == expected
            await orch.complete_task(team, task.id, expected.upper(), token=task.token)
        task = await orch.claim_task(team, "worker")
        assert task is not None and task.id == "w" and task.dependency_results == {"r1": "R1", "r2": "R2"}
        await orch.cancel_task(team, "w")
        assert (await orch.get_task(team, "after")).status == "dead"
        assert (await orch.get_flow(team, "r1")).counts() == {"completed": 2, "cancelled": 1, "dead": 1}

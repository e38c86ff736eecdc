"""Task dependencies (flows): waiting until dependencies complete, results handed on, failures
cascading by policy, whole graphs enqueued all or nothing, the graph read back."""

from __future__ import annotations

import asyncio

import pytest

from agentstate_redis import (
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    OrchestrationStateManager,
)
from agentstate_redis.orchestration.flows import MAX_FLOW_TASKS

TEAM = "flow_team"


async def finish(orch: OrchestrationStateManager, task_id: str, result: object = None) -> None:
    """Claim exactly ``task_id`` (it must be the next claimable task) and complete it."""
    task = await orch.claim_task(TEAM, "w1")
    assert task is not None and task.id == task_id, (task and task.id, task_id)
    await orch.complete_task(TEAM, task.id, result, token=task.token)


async def kill(orch: OrchestrationStateManager, task_id: str) -> None:
    task = await orch.claim_task(TEAM, "w1")
    assert task is not None and task.id == task_id
    await orch.fail_task(TEAM, task.id, "boom", retry=False, token=task.token)


async def test_a_dependent_waits_and_cannot_be_claimed_until_its_dependencies_complete(
    orch: OrchestrationStateManager,
) -> None:
    await orch.enqueue_task(TEAM, {"id": "r1"})
    await orch.enqueue_task(TEAM, {"id": "r2"})
    await orch.enqueue_task(TEAM, {"id": "w", "priority": "high"}, depends_on=["r1", "r2"])
    assert (await orch.get_task(TEAM, "w")).status == "waiting"
    status = await orch.get_queue_status(TEAM)
    assert status.waiting_count == 1 and [t.id for t in status.waiting] == ["w"]
    assert status.pending_count == 2
    assert [t.id for t in await orch.list_tasks(TEAM, "waiting")] == ["w"]

    await finish(orch, "r1", {"facts": 1})
    assert (await orch.get_task(TEAM, "w")).status == "waiting"
    await finish(orch, "r2", {"facts": 2})
    # the last completion made it pending in the same script; high priority: claimed next
    claimed = await orch.claim_task(TEAM, "w2")
    assert claimed is not None and claimed.id == "w"
    assert claimed.depends_on == ["r1", "r2"]
    assert claimed.dependency_results == {"r1": {"facts": 1}, "r2": {"facts": 2}}
    assert await orch.get_dependency_results(TEAM, "w") == {"r1": {"facts": 1}, "r2": {"facts": 2}}
    assert (await orch.get_queue_status(TEAM)).waiting_count == 0


async def test_a_dependency_already_completed_counts_and_hands_on_its_result(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "r1"})
    await finish(orch, "r1", [1, 2])
    await orch.enqueue_task(TEAM, {"id": "w"}, depends_on=["r1"])
    task = await orch.get_task(TEAM, "w")
    assert task.status == "pending" and task.dependency_results == {"r1": [1, 2]}


async def test_a_dead_dependency_fails_its_dependents_under_fail_and_cascades(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_flow(
        TEAM,
        [
            {"id": "a"},
            {"id": "b", "depends_on": ["a"]},
            {"id": "c", "depends_on": ["b"]},
            {"id": "d", "depends_on": ["a"], "on_dependency_failure": "ignore"},
        ],
    )
    await kill(orch, "a")
    b, c, d = [await orch.get_task(TEAM, i) for i in "bcd"]
    assert b.status == "dead" and b.last_error == "dependency a ended dead"
    assert c.status == "dead" and c.last_error == "dependency b ended dead"
    assert d.status == "pending" and d.dependency_results == {}
    assert {t.id for t in await orch.list_dead(TEAM)} == {"a", "b", "c"}


async def test_a_cancelled_dependency_fails_or_releases_its_dependents(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "a"})
    await orch.enqueue_task(TEAM, {"id": "strict"}, depends_on=["a"])
    await orch.enqueue_task(TEAM, {"id": "lenient"}, depends_on=["a"], on_dependency_failure="ignore")
    await orch.cancel_task(TEAM, "a", reason="not needed")
    strict, lenient = await orch.get_task(TEAM, "strict"), await orch.get_task(TEAM, "lenient")
    assert strict.status == "dead" and strict.last_error == "dependency a ended cancelled"
    assert lenient.status == "pending"


async def test_a_dependency_already_dead_makes_a_new_dependent_dead_at_once(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "a"})
    await kill(orch, "a")
    await orch.enqueue_task(TEAM, {"id": "b"}, depends_on=["a"])
    await orch.enqueue_task(TEAM, {"id": "c"}, depends_on=["a"], on_dependency_failure="ignore")
    assert (await orch.get_task(TEAM, "b")).status == "dead"
    assert (await orch.get_task(TEAM, "c")).status == "pending"


async def test_a_waiting_task_can_be_cancelled_and_its_dependents_follow(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_flow(TEAM, [{"id": "a"}, {"id": "b", "depends_on": ["a"]}, {"id": "c", "depends_on": ["b"]}])
    cancelled = await orch.cancel_task(TEAM, "b")
    assert cancelled.status == "cancelled"
    assert (await orch.get_task(TEAM, "c")).status == "dead"
    await finish(orch, "a")  # settling a again finds b no longer waiting
    assert (await orch.get_queue_status(TEAM)).pending_count == 0


async def test_a_waiting_task_is_refused_by_assign_and_promote(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_flow(TEAM, [{"id": "a"}, {"id": "b", "depends_on": ["a"]}])
    assert await orch.claim_task(TEAM, "w1") is not None  # w1 joins the team, holding a
    with pytest.raises(InvalidTransitionError):
        await orch.assign_task(TEAM, "b", "w1")
    with pytest.raises(InvalidTransitionError):
        await orch.promote_task(TEAM, "b")
    assert (await orch.get_task(TEAM, "b")).status == "waiting"


async def test_a_retried_dead_dependency_that_completes_does_not_release_a_dependent_twice(
    orch: OrchestrationStateManager,
) -> None:
    await orch.enqueue_flow(
        TEAM, [{"id": "a"}, {"id": "x"}, {"id": "d", "depends_on": ["a", "x"], "on_dependency_failure": "ignore"}]
    )
    await kill(orch, "a")  # d: one edge settled (ignored)
    await orch.retry_dead(TEAM, ["a"])
    await finish(orch, "a")  # settles the same edge again: no effect
    assert (await orch.get_task(TEAM, "d")).status == "waiting"
    await finish(orch, "x")
    assert (await orch.get_task(TEAM, "d")).status == "pending"  # both edges settled once each


async def test_unknown_dependencies_and_cycles_write_nothing(orch: OrchestrationStateManager) -> None:
    with pytest.raises(InvalidInputError, match="nope"):
        await orch.enqueue_task(TEAM, {"id": "w"}, depends_on=["nope"])
    with pytest.raises(InvalidInputError, match="cycle: a -> b -> a"):
        await orch.enqueue_flow(TEAM, [{"id": "a", "depends_on": ["b"]}, {"id": "b", "depends_on": ["a"]}])
    with pytest.raises(InvalidInputError, match="depends on itself"):
        await orch.enqueue_task(TEAM, {"id": "s"}, depends_on=["s"])
    with pytest.raises(InvalidInputError, match="missing"):  # the first tasks would be fine: none is written
        await orch.enqueue_flow(
            TEAM, [{"id": "ok1"}, {"id": "ok2", "depends_on": ["ok1"]}, {"id": "bad", "depends_on": ["missing"]}]
        )
    with pytest.raises(InvalidInputError, match="twice"):
        await orch.enqueue_flow(TEAM, [{"id": "a"}, {"id": "a"}])
    status = await orch.get_queue_status(TEAM)
    assert status.pending_count == 0 and status.waiting_count == 0
    for task_id in ("w", "a", "b", "s", "ok1", "ok2", "bad"):
        with pytest.raises(NotFoundError):
            await orch.get_task(TEAM, task_id)


@pytest.mark.parametrize(
    "bad", [{"depends_on": 5}, {"depends_on": [""]}, {"depends_on": ["a\nb"]}, {"on_dependency_failure": "maybe"}]
)
async def test_bad_dependency_fields_are_refused_by_name(orch: OrchestrationStateManager, bad: dict) -> None:
    with pytest.raises(InvalidInputError, match=r"depends_on|on_dependency_failure"):
        await orch.enqueue_task(TEAM, {"id": "t", **bad})


async def test_dependencies_refuse_delay_and_the_plain_batch_enqueue(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "a"})
    with pytest.raises(InvalidInputError, match="delay"):
        await orch.enqueue_task(TEAM, {"id": "b"}, depends_on=["a"], delay=10)
    with pytest.raises(InvalidInputError, match="enqueue_flow"):
        await orch.enqueue_tasks(TEAM, [{"id": "b", "depends_on": ["a"]}])
    with pytest.raises(InvalidInputError, match="give them once"):
        await orch.enqueue_task(TEAM, {"id": "b", "depends_on": ["a"]}, depends_on=["c"])
    with pytest.raises(InvalidInputError, match="depends_on"):
        await orch.add_schedule(TEAM, "s", {"type": "x", "depends_on": ["a"]}, every=60)


async def test_a_flow_in_any_order_is_sent_dependencies_first_and_again_adds_nothing(
    orch: OrchestrationStateManager,
) -> None:
    flow = [{"id": "report", "depends_on": ["r1", "r2"]}, {"id": "r2", "depends_on": ["r1"]}, {"id": "r1"}]
    assert await orch.enqueue_flow(TEAM, flow) == ["report", "r2", "r1"]
    assert await orch.enqueue_flow(TEAM, flow) == []
    assert (await orch.get_queue_status(TEAM)).waiting_count == 2
    await finish(orch, "r1")
    await finish(orch, "r2")
    await finish(orch, "report")


async def test_get_flow_shows_the_graph_with_statuses(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_flow(
        TEAM, [{"id": "r1"}, {"id": "r2"}, {"id": "w", "depends_on": ["r1", "r2"]}, {"id": "edit", "depends_on": ["w"]}]
    )
    await finish(orch, "r1")
    flow = await orch.get_flow(TEAM, "r2")
    assert set(flow.nodes) == {"r1", "r2", "w", "edit"} and not flow.truncated
    assert flow.nodes["w"].depends_on == ["r1", "r2"] and flow.nodes["w"].dependents == ["edit"]
    assert flow.counts() == {"completed": 1, "pending": 1, "waiting": 2}
    small = await orch.get_flow(TEAM, "edit", limit=2)
    assert len(small.nodes) == 2 and small.truncated
    with pytest.raises(NotFoundError):
        await orch.get_flow(TEAM, "nope")


async def test_a_flow_too_large_is_refused(orch: OrchestrationStateManager) -> None:
    with pytest.raises(InvalidInputError, match="at most"):
        await orch.enqueue_flow(TEAM, [{"id": f"t{i}"} for i in range(MAX_FLOW_TASKS + 1)])


async def test_results_outlive_the_trimmed_dependency(backend) -> None:
    orch = OrchestrationStateManager(backend=backend, completed_retention=1)
    await orch.create_team(TEAM)
    await orch.enqueue_flow(TEAM, [{"id": "a"}, {"id": "b"}, {"id": "w", "depends_on": ["a", "b"]}])
    await finish(orch, "a", "A")
    await finish(orch, "b", "B")  # trims a from the completed history
    with pytest.raises(NotFoundError):
        await orch.get_task(TEAM, "a")
    assert (await orch.get_flow(TEAM, "w")).nodes["a"].status == "gone"
    claimed = await orch.claim_task(TEAM, "w1")
    assert claimed is not None and claimed.dependency_results == {"a": "A", "b": "B"}
    with pytest.raises(InvalidInputError, match="deleted"):
        await orch.enqueue_task(TEAM, {"id": "late"}, depends_on=["a"])


async def test_a_stalled_dependency_that_dies_fails_its_dependent(backend) -> None:
    orch = OrchestrationStateManager(backend=backend, max_stalls=0)
    await orch.create_team(TEAM)
    await orch.enqueue_flow(TEAM, [{"id": "a"}, {"id": "b", "depends_on": ["a"]}])
    assert await orch.claim_task(TEAM, "w1", lease=0.05) is not None
    await asyncio.sleep(0.15)
    await orch.reap(TEAM)
    assert (await orch.get_task(TEAM, "a")).status == "dead"
    assert (await orch.get_task(TEAM, "b")).status == "dead"

"""OrchestrationStateManager on every backend: the seed's flow, priorities, capabilities,
leases and fencing, retries and dead letters, blocking claims, events, retention."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from agentstate_redis import (
    AgentCoordinationState,
    InvalidInputError,
    InvalidTransitionError,
    LeaseError,
    NotFoundError,
    OrchestrationStateManager,
    TaskQueueState,
    TeamState,
)
from agentstate_redis.backends.base import Backend
from agentstate_redis.errors import AlreadyExistsError
from agentstate_redis.orchestration import Backoff

from ..cluster_cases import on_cluster

TEAM = "research_team"


def manager(backend: Backend, **options: Any) -> OrchestrationStateManager:
    return OrchestrationStateManager(backend=backend, **options)


@on_cluster
async def test_seed_flow(backend: Backend) -> None:
    orch = OrchestrationStateManager(backend=backend, sync_interval=1.0)
    team_state = TeamState(
        team_id=TEAM,
        agents={
            "researcher": AgentCoordinationState(
                agent_id="researcher", status="idle", capabilities=["research", "analysis"], current_task=None
            ),
            "writer": AgentCoordinationState(
                agent_id="writer", status="idle", capabilities=["writing", "editing"], current_task=None
            ),
        },
        task_queue=TaskQueueState(pending=[], in_progress=[], completed=[]),
    )
    assert await orch.create_team(team_state) is True
    with pytest.raises(AlreadyExistsError):
        await orch.create_team(team_state)
    assert await orch.create_team(team_state, exist_ok=True) is False

    await orch.update_agent_status(team_id=TEAM, agent_id="researcher", status="working", current_task="task_001")
    team = await orch.get_team(TEAM)
    assert {a: s.status for a, s in team.agents.items()} == {"researcher": "working", "writer": "idle"}
    assert team.agents["researcher"].current_task == "task_001"
    assert await orch.get_available_agents(team_id=TEAM, capability="research") == []
    await orch.update_agent_status(TEAM, "researcher", "idle", current_task=None)
    assert [a.agent_id for a in await orch.get_available_agents(TEAM, capability="research")] == ["researcher"]
    assert [a.agent_id for a in await orch.get_available_agents(TEAM)] == ["researcher", "writer"]

    await orch.enqueue_task(
        team_id=TEAM,
        task={"id": "task_002", "type": "analysis", "priority": "high", "data": {"topic": "AI trends"}, "note": "kept"},
    )
    claimed = await orch.assign_task(team_id=TEAM, task_id="task_002", agent_id="researcher")
    assert claimed.status == "in_progress" and claimed.agent_id == "researcher" and claimed.token >= 1
    assert (await orch.get_team(TEAM)).agents["researcher"].current_task == "task_002"
    done = await orch.complete_task(team_id=TEAM, task_id="task_002", result={"analysis": "..."})
    assert done.status == "completed" and done.result == {"analysis": "..."}
    assert done.data == {"topic": "AI trends"} and done.extra == {"note": "kept"} and done.priority == 100

    queue = await orch.get_queue_status(TEAM)
    assert (len(queue.pending), len(queue.in_progress), len(queue.completed)) == (0, 0, 1)
    assert queue.completed_total == 1
    assert (await orch.get_team(TEAM)).agents["researcher"].status == "idle"


async def test_enqueue_is_idempotent_and_batched(orch: OrchestrationStateManager) -> None:
    assert await orch.enqueue_task(TEAM, {"id": "a", "data": 1}) == "a"
    assert await orch.enqueue_task(TEAM, {"id": "a", "data": 2}) == "a"
    created = await orch.enqueue_tasks(TEAM, [{"id": f"t{i}"} for i in range(1200)] + [{"id": "a"}])
    assert len(created) == 1200 and "a" not in created
    status = await orch.get_queue_status(TEAM, page_size=10)
    assert status.pending_count == 1201 and len(status.pending) == 10
    assert (await orch.get_task(TEAM, "a")).data == 1


async def test_priorities_then_fifo(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(
        TEAM,
        [
            {"id": "n1", "priority": "normal"},
            {"id": "l1", "priority": "low"},
            {"id": "h1", "priority": "high"},
            {"id": "n2"},
            {"id": "h2", "priority": "high"},
            {"id": "x", "priority": 999},
            {"id": "l2", "priority": 0},
        ],
    )
    order = [(await orch.get_queue_status(TEAM)).pending[i].id for i in range(7)]
    claimed = []
    while (task := await orch.claim_task(TEAM, "w")) is not None:
        claimed.append(task.id)
    assert claimed == ["x", "h1", "h2", "n1", "n2", "l1", "l2"] == order


async def test_capabilities_match_type_or_explicit_field(orch: OrchestrationStateManager) -> None:
    await orch.register_agent(TEAM, AgentCoordinationState(agent_id="writer", capabilities=["writing"]))
    await orch.enqueue_tasks(
        TEAM,
        [
            {"id": "r", "type": "research", "priority": "high"},
            {"id": "w", "type": "writing"},
            {"id": "any", "type": "research", "capability": None, "priority": "low"},
            {"id": "c", "type": "misc", "capability": "writing", "priority": "low"},
        ],
    )
    # registered capabilities are used when none are passed
    got = [(await orch.claim_task(TEAM, "writer")).id for _ in range(3)]  # type: ignore[union-attr]
    assert got == ["w", "any", "c"]
    assert await orch.claim_task(TEAM, "writer") is None
    assert await orch.claim_task(TEAM, "other", capabilities=["editing"]) is None
    task = await orch.claim_task(TEAM, "other", capabilities=["research"])
    assert task is not None and task.id == "r" and task.capability == "research"


@on_cluster
async def test_stale_token_is_refused_and_new_holder_accepted(backend: Backend) -> None:
    orch = manager(backend)
    await orch.create_team(TEAM)
    await orch.enqueue_task(TEAM, {"id": "t"})
    first = await orch.claim_task(TEAM, "slow", lease=0.2)
    assert first is not None
    await asyncio.sleep(0.4)  # the lease runs out (server clock)
    second = await orch.claim_task(TEAM, "fast", lease=30)  # this claim hands the task back first
    assert second is not None and second.id == "t" and second.token > first.token and second.stalls == 1
    with pytest.raises(LeaseError) as late:
        await orch.complete_task(TEAM, "t", {"by": "slow"}, token=first.token)
    assert "stale fencing token" in str(late.value)
    with pytest.raises(LeaseError):
        await orch.fail_task(TEAM, "t", "late failure", token=first.token)
    with pytest.raises(LeaseError):  # claimed tasks need their token
        await orch.complete_task(TEAM, "t", {"by": "coordinator"})
    with pytest.raises(LeaseError):
        await orch.complete_task(TEAM, "t", {}, token=second.token, agent_id="slow")
    done = await orch.complete_task(TEAM, "t", {"by": "fast"}, token=second.token, agent_id="fast")
    assert done.result == {"by": "fast"} and done.completed_by == "fast" and done.attempts == 2
    with pytest.raises(LeaseError):  # exactly one accepted completion
        await orch.complete_task(TEAM, "t", {"again": True}, token=second.token)
    with pytest.raises(InvalidTransitionError):
        await orch.complete_task(TEAM, "t", {"again": True})


async def test_completion_of_a_task_back_in_pending_is_refused(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "t"})
    with pytest.raises(InvalidTransitionError):
        await orch.complete_task(TEAM, "t", {})
    claimed = await orch.claim_task(TEAM, "w", lease=0.1)
    assert claimed is not None
    await asyncio.sleep(0.3)
    assert await orch.reap(TEAM) == {"stalled": 1, "promoted": 0}
    assert (await orch.get_task(TEAM, "t")).status == "pending"
    with pytest.raises(LeaseError):
        await orch.complete_task(TEAM, "t", {}, token=claimed.token)


async def test_replayed_operation_returns_its_first_reply(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": "a"}, {"id": "b"}])
    k = orch.keys.team(TEAM)
    keys = [k.base, k.ops, k.ops_prev]
    args = ["op-1", "", TEAM, "w", 30000, 3, 10000, 86_400_000, "given"]
    first = await orch.backend.run("orchestration/claim", keys, args)
    assert await orch.backend.run("orchestration/claim", keys, args) == first  # a retried call claims once
    assert (await orch.get_queue_status(TEAM)).pending_count == 1
    task = (await orch.list_tasks(TEAM, "in_progress"))[0]
    done_args = ["op-2", "", TEAM, task.id, "{}", "", task.token, 100, 86_400_000]
    reply = await orch.backend.run("orchestration/complete", keys, done_args)
    assert await orch.backend.run("orchestration/complete", keys, done_args) == reply


async def test_heartbeat_extends_leases(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "t"})
    task = await orch.claim_task(TEAM, "w", lease=0.3)
    assert task is not None and task.lease_until is not None
    leases = await orch.heartbeat(TEAM, "w", lease=30)
    assert list(leases) == ["t"] and leases["t"] > task.lease_until + 20
    await asyncio.sleep(0.5)
    assert await orch.reap(TEAM) == {"stalled": 0, "promoted": 0}
    assert await orch.claim_task(TEAM, "other") is None
    await orch.complete_task(TEAM, "t", "ok", token=task.token)
    assert await orch.heartbeat(TEAM, "w") == {}


async def test_silent_agents_show_offline(backend: Backend) -> None:
    orch = manager(backend, offline_after=0.3)
    await orch.create_team(
        TeamState(
            team_id=TEAM,
            agents={
                "a": AgentCoordinationState(agent_id="a", capabilities=["x"]),
                "b": AgentCoordinationState(agent_id="b", capabilities=["x"]),
            },
        )
    )
    await orch.heartbeat(TEAM, "a")
    await orch.heartbeat(TEAM, "b")
    assert [a.agent_id for a in await orch.get_available_agents(TEAM, "x")] == ["a", "b"]
    await asyncio.sleep(0.5)
    await orch.heartbeat(TEAM, "b")
    team = await orch.get_team(TEAM)
    assert team.agents["a"].status == "offline" and not team.agents["a"].online
    assert team.agents["b"].status == "idle" and team.agents["b"].online
    assert [a.agent_id for a in await orch.get_available_agents(TEAM, "x")] == ["b"]


@on_cluster
async def test_too_many_stalls_dead_letters_the_task(backend: Backend) -> None:
    orch = manager(backend, max_stalls=1)
    await orch.create_team(TEAM)
    await orch.enqueue_task(TEAM, {"id": "t"})
    for _ in range(2):
        assert await orch.claim_task(TEAM, "w", lease=0.1) is not None
        await asyncio.sleep(0.25)
    assert await orch.claim_task(TEAM, "w") is None
    (dead,) = await orch.list_dead(TEAM)
    assert dead.id == "t" and dead.stalls == 2 and "stalled too often" in dead.errors[-1]


@on_cluster
async def test_retry_twice_then_succeed_and_dead_letters(backend: Backend) -> None:
    orch = manager(backend, backoff=Backoff(kind="fixed", delay=0))
    await orch.create_team(TEAM)
    await orch.enqueue_tasks(TEAM, [{"id": "flaky", "max_attempts": 3}, {"id": "doomed", "max_attempts": 3}])
    for attempt in range(2):
        task = await orch.claim_task(TEAM, "w")
        assert task is not None and task.id == "flaky"
        failed = await orch.fail_task(TEAM, "flaky", f"boom {attempt}", token=task.token)
        assert failed.status == "pending" and failed.failures == attempt + 1
    task = await orch.claim_task(TEAM, "w")
    assert task is not None and task.id == "flaky"
    done = await orch.complete_task(TEAM, "flaky", "ok", token=task.token)
    assert done.status == "completed" and done.attempts == 3 and done.errors == ["boom 0", "boom 1"]

    for attempt in range(3):
        task = await orch.claim_task(TEAM, "w")
        assert task is not None and task.id == "doomed"
        last = await orch.fail_task(TEAM, "doomed", ValueError(f"bad {attempt}"), token=task.token)
    assert last.status == "dead"
    assert await orch.claim_task(TEAM, "w") is None
    (dead,) = await orch.list_dead(TEAM)
    assert dead.id == "doomed" and dead.errors == ["ValueError: bad 0", "ValueError: bad 1", "ValueError: bad 2"]
    status = await orch.get_queue_status(TEAM)
    assert status.dead_count == 1 and status.dead[0].id == "doomed"

    assert await orch.retry_dead(TEAM) == ["doomed"]
    again = await orch.claim_task(TEAM, "w")
    assert again is not None and again.id == "doomed" and again.failures == 0 and again.attempts == 4
    await orch.fail_task(TEAM, "doomed", "final", retry=False, token=again.token)
    assert await orch.purge_dead(TEAM, ["doomed", "unknown"]) == ["doomed"]
    with pytest.raises(NotFoundError):
        await orch.get_task(TEAM, "doomed")
    assert (await orch.get_queue_status(TEAM)).dead_count == 0


async def test_backoff_schedules_retries_on_the_server_clock(backend: Backend) -> None:
    orch = manager(backend, backoff=Backoff(kind="exponential", delay=60, max_delay=3600, jitter=0))
    await orch.create_team(TEAM)
    await orch.enqueue_task(TEAM, {"id": "t", "max_attempts": 5})
    task = await orch.claim_task(TEAM, "w")
    assert task is not None and task.started_at is not None
    failed = await orch.fail_task(TEAM, "t", "e1", token=task.token)
    assert failed.status == "retry" and failed.next_run_at is not None
    assert 59 <= failed.next_run_at - task.started_at <= 61
    assert await orch.claim_task(TEAM, "w") is None
    status = await orch.get_queue_status(TEAM)
    assert status.scheduled_count == 1 and status.scheduled[0].id == "t"
    # a coordinator may assign a scheduled task at once; the next failure waits twice as long
    again = await orch.assign_task(TEAM, "t", "w")
    failed = await orch.fail_task(TEAM, "t", "e2", token=again.token)
    assert failed.next_run_at is not None and 119 <= failed.next_run_at - again.started_at <= 121  # type: ignore[operator]

    short = manager(backend, backoff=Backoff(kind="fixed", delay=0.2, jitter=0))
    await short.enqueue_task(TEAM, {"id": "u"})
    task = await short.claim_task(TEAM, "w")
    assert task is not None and task.id == "u"
    await short.fail_task(TEAM, "u", "transient", token=task.token)
    retried = await short.claim_task(TEAM, "w", wait=5)  # wakes when the retry is due
    assert retried is not None and retried.id == "u" and retried.attempts == 2


async def test_blocking_claim_wakes_on_enqueue(orch: OrchestrationStateManager) -> None:
    waiter = asyncio.ensure_future(orch.claim_task(TEAM, "w", capabilities=["analysis"], wait=20))
    other = asyncio.ensure_future(orch.claim_task(TEAM, "v", capabilities=["writing"], wait=20))
    await asyncio.sleep(0.3)
    assert not waiter.done() and not other.done()
    start = time.monotonic()
    await orch.enqueue_task(TEAM, {"id": "t", "type": "analysis"})
    task = await asyncio.wait_for(asyncio.shield(waiter), timeout=20)
    woke = time.monotonic() - start
    assert woke < 1.0, f"blocking claim took {woke:.3f}s to wake"
    await orch.enqueue_task(TEAM, {"id": "u"})
    task2 = await asyncio.wait_for(other, timeout=20)
    assert task is not None and task.id == "t" and task2 is not None and task2.id == "u"


async def test_events_follow_the_queue(orch: OrchestrationStateManager) -> None:
    seen: list[tuple[str, Any]] = []
    await orch.subscribe_events(TEAM, lambda e: seen.append((e.op, e.data.get("task"))))
    await orch.enqueue_task(TEAM, {"id": "t"})
    task = await orch.claim_task(TEAM, "w")
    assert task is not None
    await orch.complete_task(TEAM, "t", 1, token=task.token)
    await orch.update_agent_status(TEAM, "w", "resting")
    for _ in range(100):
        if len(seen) >= 4:
            break
        await asyncio.sleep(0.05)
    assert [op for op, _ in seen] == ["enqueue", "claim", "complete", "agent"]
    assert seen[1][1] == "t"


async def test_completed_history_is_capped(backend: Backend) -> None:
    orch = manager(backend, completed_retention=3)
    await orch.create_team(TEAM)
    await orch.enqueue_tasks(TEAM, [{"id": f"t{i}"} for i in range(5)])
    for _ in range(5):
        task = await orch.claim_task(TEAM, "w")
        assert task is not None
        await orch.complete_task(TEAM, task.id, None, token=task.token)
    status = await orch.get_queue_status(TEAM)
    assert status.completed_count == 3 and status.completed_total == 5
    assert [t.id for t in status.completed] == ["t4", "t3", "t2"]
    with pytest.raises(NotFoundError):
        await orch.get_task(TEAM, "t0")


async def test_bad_input_and_missing_entities(orch: OrchestrationStateManager) -> None:
    with pytest.raises(InvalidInputError, match="priority"):
        await orch.enqueue_task(TEAM, {"id": "t", "priority": "urgent"})
    with pytest.raises(InvalidInputError, match="twice"):
        await orch.enqueue_tasks(TEAM, [{"id": "t"}, {"id": "t"}])
    with pytest.raises(InvalidInputError, match="capabilities"):
        await orch.claim_task(TEAM, "w", capabilities="research")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="lease"):
        await orch.claim_task(TEAM, "w", lease=0)
    with pytest.raises(InvalidInputError, match="token"):
        await orch.complete_task(TEAM, "t", None, token=-1)
    with pytest.raises(InvalidInputError, match="agent_id"):
        TeamState(team_id="x", agents={"a": AgentCoordinationState(agent_id="b")})
    with pytest.raises(InvalidInputError, match="JSON"):
        await orch.enqueue_task(TEAM, {"id": "t", "data": float("nan")})
    assert (await orch.get_queue_status(TEAM)).pending_count == 0
    with pytest.raises(NotFoundError):
        await orch.enqueue_task("no-such-team", {"id": "t"})
    with pytest.raises(NotFoundError):
        await orch.update_agent_status(TEAM, "ghost", "idle")
    with pytest.raises(NotFoundError):
        await orch.get_team("no-such-team")
    await orch.enqueue_task(TEAM, {"id": "t", "type": "research"})
    await orch.register_agent(TEAM, AgentCoordinationState(agent_id="writer", capabilities=["writing"]))
    with pytest.raises(InvalidInputError, match="lacks capability"):
        await orch.assign_task(TEAM, "t", "writer")
    with pytest.raises(NotFoundError):
        await orch.assign_task(TEAM, "t", "ghost")


async def test_keep_alive_holds_the_lease_while_working(backend: Backend) -> None:
    orch = manager(backend, sync_interval=0.1)
    await orch.create_team(TEAM)
    await orch.enqueue_task(TEAM, {"id": "t"})
    task = await orch.claim_task(TEAM, "w", lease=0.4)
    assert task is not None
    async with orch.keep_alive(TEAM, "w"):
        await asyncio.sleep(1.0)  # longer than the lease: heartbeats renew it
        assert await orch.reap(TEAM) == {"stalled": 0, "promoted": 0}
    done = await orch.complete_task(TEAM, "t", "ok", token=task.token)
    assert done.stalls == 0 and done.attempts == 1

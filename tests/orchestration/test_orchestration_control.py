"""Task control on every backend: cancel, delayed tasks and promote, team pause (one process)."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest

from agentstate_redis import (
    InvalidInputError,
    InvalidTransitionError,
    LeaseError,
    NotFoundError,
    OrchestrationStateManager,
    TaskCancelledError,
)
from agentstate_redis.backends.base import Backend
from agentstate_redis.orchestration.layout import CONTROL_FIELDS, CONTROL_SUBKEYS
from agentstate_redis.worker import run_worker

TEAM = "control_team"
ORCH_OPTIONS = {"sync_interval": 0.1}
LUA = Path(__file__).resolve().parents[2] / "lua"


async def server_now(orch: OrchestrationStateManager) -> float:
    return (await orch.get_team(TEAM)).created_at or time.time()


def test_control_keys_are_declared_once_on_both_sides() -> None:
    lib = (LUA / "lib" / "orchestration.lua").read_text()
    ctl = dict(re.findall(r"(\w+) = '([^']+)'", re.search(r"local CTL = \{([^}]*)\}", lib).group(1)))
    fields = dict(re.findall(r"(\w+) = '([^']+)'", re.search(r"local CTL_FIELDS = \{([^}]*)\}", lib).group(1)))
    assert ctl == CONTROL_SUBKEYS and fields == CONTROL_FIELDS
    for script in (LUA / "orchestration").glob("*.lua"):  # no script names them ad hoc
        for suffix in CONTROL_SUBKEYS.values():
            assert not re.search(rf"sub\(base, '{suffix}'|':{suffix}'", script.read_text()), (script.name, suffix)


# -- cancel -----------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["pending", "delayed", "retry"])
async def test_a_task_not_running_ends_cancelled_at_once(orch: OrchestrationStateManager, where: str) -> None:
    await orch.enqueue_task(TEAM, {"id": "t1"}, delay=60 if where == "delayed" else None)
    if where == "retry":
        task = await orch.claim_task(TEAM, "w1")
        assert task is not None
        await orch.fail_task(TEAM, "t1", "boom", token=task.token)
        assert (await orch.get_task(TEAM, "t1")).status == "retry"
    done = await orch.cancel_task(TEAM, "t1", reason="not needed")
    assert done.status == "cancelled" and done.cancel_reason == "not needed" and done.finished_at
    queue = await orch.get_queue_status(TEAM)
    assert queue.pending_count == queue.delayed_count == queue.scheduled_count == 0
    assert queue.cancelled_count == queue.cancelled_total == 1 and [t.id for t in queue.cancelled] == ["t1"]
    assert await orch.claim_task(TEAM, "w2") is None
    with pytest.raises(InvalidTransitionError) as err:  # exactly once
        await orch.cancel_task(TEAM, "t1")
    assert err.value.status == "cancelled"


async def test_a_running_task_is_stopped_through_its_holder(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": "t1"}, {"id": "t2"}])
    task = await orch.claim_task(TEAM, "w1", lease=30)
    assert task is not None and task.id == "t1"
    events: list[Any] = []
    await orch.subscribe_events(TEAM, events.append)
    cancelled = await orch.cancel_task(TEAM, "t1", reason="user abort")
    assert cancelled.status == "cancelled" and cancelled.agent_id == "w1"
    agent = (await orch.get_team(TEAM)).agents["w1"]
    assert agent.status == "idle" and agent.current_task is None
    assert (await orch.get_queue_status(TEAM)).in_progress_count == 0

    with pytest.raises(TaskCancelledError) as err:  # the holder's next heartbeat
        await orch.heartbeat(TEAM, "w1")
    assert isinstance(err.value, LeaseError)
    assert err.value.id == "t1" and err.value.reason == "user abort" and err.value.tasks == ["t1"]
    assert await orch.heartbeat(TEAM, "w1") == {}  # reported once
    for late in (
        orch.complete_task(TEAM, "t1", {"late": 1}, token=task.token),
        orch.fail_task(TEAM, "t1", "late", token=task.token),
        orch.release_task(TEAM, "t1", token=task.token),
        orch.complete_and_claim(TEAM, "t1", {"late": 1}, token=task.token),
    ):
        with pytest.raises(TaskCancelledError):
            await late
    assert (await orch.get_task(TEAM, "t1")).status == "cancelled"
    assert (await orch.get_task(TEAM, "t2")).status == "pending"  # the refused complete_and_claim took nothing
    for _ in range(100):
        if any(e.op == "cancel" for e in events):
            break
        await asyncio.sleep(0.02)
    cancel = next(e for e in events if e.op == "cancel")
    assert cancel.data["task"] == "t1" and cancel.data["was"] == "in_progress" and cancel.data["reason"] == "user abort"


async def test_cancel_refuses_finished_and_unknown_tasks(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "t1"})
    task = await orch.claim_task(TEAM, "w1")
    assert task is not None
    await orch.complete_task(TEAM, "t1", 1, token=task.token)
    with pytest.raises(InvalidTransitionError) as err:
        await orch.cancel_task(TEAM, "t1")
    assert err.value.status == "completed"
    with pytest.raises(NotFoundError):
        await orch.cancel_task(TEAM, "nope")
    with pytest.raises(NotFoundError):
        await orch.cancel_task("no_team", "t1")
    with pytest.raises(InvalidInputError):
        await orch.cancel_task(TEAM, "t1", reason=3)  # type: ignore[arg-type]


async def test_a_retried_cancel_applies_once(orch: OrchestrationStateManager, monkeypatch: Any) -> None:
    await orch.enqueue_task(TEAM, {"id": "t1"})
    monkeypatch.setattr(orch, "_op_id", lambda: "fixed-op-id")
    first = await orch.cancel_task(TEAM, "t1")
    again = await orch.cancel_task(TEAM, "t1")
    assert first.status == again.status == "cancelled"
    assert (await orch.get_queue_status(TEAM)).cancelled_total == 1


async def test_cancelled_history_is_capped_like_completed(backend: Backend) -> None:
    orch = OrchestrationStateManager(backend=backend, completed_retention=3)
    await orch.create_team(TEAM)
    await orch.enqueue_tasks(TEAM, [{"id": f"t{i}"} for i in range(5)])
    for i in range(5):
        await orch.cancel_task(TEAM, f"t{i}")
    assert [t.id for t in await orch.list_tasks(TEAM, "cancelled")] == ["t4", "t3", "t2"]
    assert [t.id for t in await orch.list_tasks(TEAM, "cancelled", offset=1, limit=1)] == ["t3"]
    with pytest.raises(NotFoundError):
        await orch.get_task(TEAM, "t0")
    assert await orch.enqueue_tasks(TEAM, [{"id": "t0"}]) == []  # tombstoned like a trimmed completion
    with pytest.raises(InvalidTransitionError):
        await orch.cancel_task(TEAM, "t0")


async def test_keep_alive_cancels_its_block(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "t1"})
    task = await orch.claim_task(TEAM, "w1", lease=30)
    assert task is not None
    reached_end = False

    async def work() -> None:
        nonlocal reached_end
        async with orch.keep_alive(TEAM, "w1"):
            await asyncio.sleep(10)
            reached_end = True

    job = asyncio.ensure_future(work())
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await orch.cancel_task(TEAM, "t1", reason="stop")
    with pytest.raises(TaskCancelledError) as err:
        await job
    assert time.monotonic() - started < 2 and not reached_end and err.value.reason == "stop"


async def test_run_worker_stops_a_cancelled_handler_and_claims_on(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": "long"}, {"id": "short"}])
    ran: list[str] = []
    stopped = asyncio.Event()

    async def handle(task: Any) -> str:
        ran.append(task.id)
        if task.id == "long":
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                stopped.set()
                raise
        return "ok"

    async def cancel_long() -> None:
        while "long" not in ran:
            await asyncio.sleep(0.01)
        await orch.cancel_task(TEAM, "long", reason="abort")

    canceller = asyncio.ensure_future(cancel_long())
    stats = await asyncio.wait_for(
        run_worker(orch, TEAM, "w1", handle, install_signals=False, max_tasks=2, claim_wait=0.2), 10
    )
    await canceller
    assert stopped.is_set() and stats.cancelled == 1 and stats.completed == 1 and stats.lost == 0
    assert (await orch.get_task(TEAM, "long")).status == "cancelled"
    assert (await orch.get_task(TEAM, "short")).status == "completed"


# -- delayed tasks ----------------------------------------------------------------------------


async def test_a_delayed_task_waits_for_its_time(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "later", "priority": "high"}, delay=0.6)
    await orch.enqueue_task(TEAM, {"id": "now"})
    queue = await orch.get_queue_status(TEAM)
    assert queue.delayed_count == 1 and queue.pending_count == 1
    later = queue.delayed[0]
    assert later.status == "delayed" and later.next_run_at is not None
    first = await orch.claim_task(TEAM, "w1")
    assert first is not None and first.id == "now"
    assert await orch.claim_task(TEAM, "w1") is None
    started = time.monotonic()
    got = await orch.claim_task(TEAM, "w1", wait=5)  # a blocked claimer wakes when it is due
    assert got is not None and got.id == "later"
    assert got.started_at is not None and got.started_at >= later.next_run_at
    assert 0.3 < time.monotonic() - started < 2.5
    assert (await orch.get_queue_status(TEAM)).delayed_count == 0


async def test_run_at_and_promote(orch: OrchestrationStateManager) -> None:
    now = await server_now(orch)
    await orch.enqueue_tasks(TEAM, [{"id": "a"}, {"id": "b"}], run_at=now + 3600)
    assert [t.id for t in await orch.list_tasks(TEAM, "delayed")] == ["a", "b"]
    assert await orch.claim_task(TEAM, "w1") is None
    promoted = await orch.promote_task(TEAM, "b")
    assert promoted.status == "pending"
    got = await orch.claim_task(TEAM, "w1")
    assert got is not None and got.id == "b"
    with pytest.raises(InvalidTransitionError):
        await orch.promote_task(TEAM, "b")
    with pytest.raises(NotFoundError):
        await orch.promote_task(TEAM, "nope")
    await orch.enqueue_task(TEAM, {"id": "past"}, run_at=now - 10)  # already due: pending at once
    assert (await orch.get_task(TEAM, "past")).status == "pending"
    assigned = await orch.assign_task(TEAM, "a", "w1")  # a coordinator may assign it early
    assert assigned.status == "in_progress"


async def test_delay_arguments_are_checked(orch: OrchestrationStateManager) -> None:
    for kwargs in ({"delay": -1}, {"delay": "5"}, {"run_at": float("nan")}, {"delay": 1, "run_at": 5.0}):
        with pytest.raises(InvalidInputError):
            await orch.enqueue_task(TEAM, {"id": "x"}, **kwargs)
    assert (await orch.get_queue_status(TEAM)).pending_count == 0


# -- pause -------------------------------------------------------------------------------------


async def test_pause_stops_claims_and_resume_wakes_blocked_claimers(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": "t1"}, {"id": "t2"}, {"id": "t3"}])
    running = await orch.claim_task(TEAM, "w1")
    assert running is not None
    assert await orch.pause_team(TEAM) is True and await orch.pause_team(TEAM) is False
    assert (await orch.get_queue_status(TEAM)).paused
    assert await orch.claim_task(TEAM, "w2") is None
    assert await orch.complete_and_claim(TEAM, running.id, 1, token=running.token) is None  # completes, claims nothing
    assert (await orch.get_task(TEAM, running.id)).status == "completed"
    assert await orch.heartbeat(TEAM, "w1") == {}

    async def resume_later() -> None:
        await asyncio.sleep(0.5)
        assert await orch.resume_team(TEAM) is True

    resumer = asyncio.ensure_future(resume_later())
    started = time.monotonic()
    got = await orch.claim_task(TEAM, "w2", wait=8)
    await resumer
    assert got is not None and 0.4 < time.monotonic() - started < 2
    assert await orch.resume_team(TEAM) is False and not (await orch.get_queue_status(TEAM)).paused
    with pytest.raises(NotFoundError):
        await orch.pause_team("no_team")


# -- progress and logs -------------------------------------------------------------------------


async def test_progress_and_logs_are_fenced_capped_and_shown(backend: Backend) -> None:
    orch = OrchestrationStateManager(backend=backend, max_task_log_lines=3)
    await orch.create_team(TEAM)
    await orch.enqueue_task(TEAM, {"id": "t1"})
    task = await orch.claim_task(TEAM, "w1")
    assert task is not None
    events: list[Any] = []
    await orch.subscribe_events(TEAM, events.append)
    assert (await orch.update_task_progress(TEAM, "t1", 0.25, token=task.token)).progress == 0.25
    await orch.update_task_progress(TEAM, "t1", {"done": 3, "of": 8}, token=task.token)
    for i in range(5):
        await orch.add_task_log(TEAM, "t1", f"line {i}", token=task.token)
    assert await orch.get_task_logs(TEAM, "t1") == ["line 2", "line 3", "line 4"]
    got = await orch.get_task(TEAM, "t1")
    assert got.progress == {"done": 3, "of": 8} and got.logs == ["line 2", "line 3", "line 4"]
    with pytest.raises(LeaseError):
        await orch.add_task_log(TEAM, "t1", "stale", token=task.token + 1)
    with pytest.raises(LeaseError):
        await orch.update_task_progress(TEAM, "t1", 0.5)  # a claimed task needs its token
    for bad in (1.5, -0.1, True, "half", [1], float("nan")):
        with pytest.raises(InvalidInputError):
            await orch.update_task_progress(TEAM, "t1", bad, token=task.token)
    with pytest.raises(NotFoundError):
        await orch.get_task_logs(TEAM, "nope")
    for _ in range(100):
        if sum(e.op in ("progress", "task_log") for e in events) >= 7:
            break
        await asyncio.sleep(0.02)
    assert [e.data.get("progress") for e in events if e.op == "progress"] == [0.25, {"done": 3, "of": 8}]
    assert [e.data["line"] for e in events if e.op == "task_log"] == [f"line {i}" for i in range(5)]
    await orch.cancel_task(TEAM, "t1")
    with pytest.raises(TaskCancelledError):
        await orch.update_task_progress(TEAM, "t1", 1.0, token=task.token)

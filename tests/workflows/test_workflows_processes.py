"""Workflow guarantees across real OS processes on a real Redis."""

from __future__ import annotations

import asyncio
import time

from agentstate_redis import (
    RedisBackend,
    StateManager,
    StepState,
    WorkflowState,
    WorkflowStateManager,
    WorkflowStatus,
)

from .. import workers_workflows
from ..procs import run_processes, start_process

WORKERS = 8
STEPS_EACH = 40


def _manager(redis_url: str, prefix: str, **options: object) -> WorkflowStateManager:
    return WorkflowStateManager(backend=RedisBackend(redis_url, key_prefix=prefix), **options)


async def test_processes_completing_different_steps_lose_none(redis_url: str, prefix: str) -> None:
    """8 processes complete interleaved steps of one 320-step workflow, then re-send them all:
    every step is recorded once, current_step is exact and checkpoints appear every 20 steps."""
    total = WORKERS * STEPS_EACH
    wf = _manager(redis_url, prefix, checkpoint_interval=20)
    await wf.create(WorkflowState(workflow_id="big", total_steps=total))
    run_processes(
        workers_workflows.complete_steps,
        [(redis_url, prefix, "big", list(range(i + 1, total + 1, WORKERS))) for i in range(WORKERS)],
    )
    state = await wf.get("big")
    assert (state.status, state.current_step, state.completed_steps) == (WorkflowStatus.COMPLETED, total, total)
    assert state.context == {f"s{n}": n for n in range(1, total + 1)}
    assert [s.step_number for s in await wf.get_steps("big")] == list(range(1, total + 1))
    step_events = [e for e in await wf.history("big", limit=total + 10) if e["op"] == "step"]
    assert len(step_events) == total, "re-sent updates wrote nothing"
    cps = await wf.list_checkpoints("big")
    assert [c.checkpoint_id for c in cps] == [f"auto-{n}" for n in range(total, 0, -20)]
    await wf.backend.close()


async def test_pause_in_one_process_stops_steps_in_another(redis_url: str, prefix: str) -> None:
    """A pauses while B drives the workflow: B's next update_step raises the transition error
    naming 'paused', nothing is accepted while paused, and after A resumes B finishes."""
    total = 1000
    wf = _manager(redis_url, prefix)
    await wf.create(WorkflowState(workflow_id="job", total_steps=total))
    args = [(redis_url, prefix, "job", total), (redis_url, prefix, "job", 30)]

    from ..procs import _ctx  # one spawn pool for both roles: B drives, A pauses and resumes

    results = _ctx.Queue()
    b = _ctx.Process(
        target=workers_workflows.run_into, args=(workers_workflows.drive_until_done, args[0], results, "b")
    )
    a = _ctx.Process(
        target=workers_workflows.run_into, args=(workers_workflows.pause_then_resume, args[1], results, "a")
    )
    b.start()
    a.start()
    out = dict(results.get(timeout=60) for _ in range(2))
    a.join(10)
    b.join(10)
    assert "error" not in out["a"] and "error" not in out["b"], out
    refusals = out["b"]["refusals"]
    assert len(refusals) == 1
    assert refusals[0]["status"] == "paused" and refusals[0]["op"] == "update_step"
    assert refusals[0]["step"] == out["a"]["paused_step"] + 1
    assert out["a"]["before_resume_step"] == out["a"]["paused_step"], "no step accepted while paused"
    assert out["a"]["before_resume_version"] == out["a"]["paused_version"]
    final = await wf.get("job")
    assert (final.status, final.current_step) == (WorkflowStatus.COMPLETED, total)
    ops = [e["op"] for e in reversed(await wf.history("job", limit=total + 10))]
    assert ops.count("pause") == 1 and ops.count("resume") == 1
    assert ops.index("resume") == ops.index("pause") + 1, "no step between pause and resume"
    await wf.backend.close()


async def test_subscriber_in_another_process_sees_every_change_in_order(redis_url: str, prefix: str) -> None:
    wf = _manager(redis_url, prefix, checkpoint_interval=2)
    flags = StateManager(backend=wf.backend)
    proc = start_process(workers_workflows.collect_events, redis_url, prefix, "pipe*", "cancel")
    try:
        deadline = time.monotonic() + 30
        while await flags.get("ready") is None:
            assert time.monotonic() < deadline, "subscriber never became ready"
            await asyncio.sleep(0.02)
        await wf.create(WorkflowState(workflow_id="pipe1", total_steps=5))
        await wf.update_step("pipe1", StepState(step_number=1, status="running"))
        await wf.update_step("pipe1", StepState(step_number=1, status="completed"))
        await wf.update_step("pipe1", StepState(step_number=2, status="completed"))
        await wf.pause("pipe1")
        await wf.resume("pipe1")
        await wf.update_step("pipe1", StepState(step_number=3, status="completed"))
        await wf.resume_from("pipe1", "auto-2")
        await wf.cancel("pipe1", reason="done testing")
        await asyncio.to_thread(proc.join, 30)
        stored = await flags.get("events")
    finally:
        if proc.is_alive():
            proc.kill()
    assert stored is not None
    seen = [(e["op"], e["version"], e["status"], e["step"], e["checkpoint"]) for e in stored["events"]]
    assert seen == [
        ("create", 1, "pending", None, None),
        ("step", 2, "running", 1, None),
        ("step", 3, "running", 1, None),
        ("step", 4, "running", 2, "auto-2"),
        ("pause", 5, "paused", None, None),
        ("resume", 6, "running", None, None),
        ("step", 7, "running", 3, None),
        ("resume_from", 8, "running", 2, "auto-2"),
        ("cancel", 9, "cancelled", None, None),
    ]
    await wf.backend.close()


async def test_only_one_process_gets_the_lease(redis_url: str, prefix: str) -> None:
    wf = _manager(redis_url, prefix)
    await wf.create(WorkflowState(workflow_id="solo", total_steps=3))
    tokens = run_processes(workers_workflows.grab_lease, [(redis_url, prefix, "solo", f"w{i}") for i in range(WORKERS)])
    winners = [t for t in tokens if t]
    assert len(winners) == 1, tokens
    # and the losers were issued no token: the last one issued (the fence) is the winner's
    lease = await wf.backend.client.hgetall(wf.backend.keys.workflow("solo")("lease"))
    assert int(lease["fence"]) == int(lease["token"]) == winners[0], lease
    await wf.backend.close()

"""Workflow behaviour on every backend: the state machine table, steps, checkpoints, listing, leases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentstate_redis import (
    AlreadyExistsError,
    InvalidInputError,
    InvalidTransitionError,
    LeaseError,
    NotFoundError,
    StepState,
    WorkflowCheckpoint,
    WorkflowState,
    WorkflowStateManager,
    WorkflowStatus,
)
from agentstate_redis.backends.base import Backend

from ..cluster_cases import on_cluster

S = WorkflowStatus


@pytest.fixture
async def wf(backend: Backend) -> AsyncIterator[WorkflowStateManager]:
    yield WorkflowStateManager(backend=backend, checkpoint_interval=3)


def done(n: int, **extra: object) -> StepState:
    return StepState(step_number=n, name=f"step{n}", status="completed", **extra)


@on_cluster
async def test_seed_example(wf: WorkflowStateManager) -> None:
    await wf.create(
        WorkflowState(
            workflow_id="research_pipeline", status=WorkflowStatus.PENDING, total_steps=10, current_step=0, context={}
        )
    )
    await wf.update_step(
        "research_pipeline",
        StepState(
            step_number=1, name="data_collection", status="completed", result={"documents": 150}, duration_ms=5400
        ),
    )
    current = await wf.get("research_pipeline")
    assert (current.current_step, current.total_steps, current.status) == (1, 10, S.RUNNING)
    await wf.pause("research_pipeline")
    assert await wf.get_status("research_pipeline") == WorkflowStatus.PAUSED
    assert str(WorkflowStatus.PAUSED) == "WorkflowStatus.PAUSED"
    await wf.resume("research_pipeline")
    cancelled = await wf.cancel("research_pipeline", reason="User requested cancellation")
    assert cancelled.status == S.CANCELLED and cancelled.cancel_reason == "User requested cancellation"
    steps = await wf.get_steps("research_pipeline")
    assert steps == [
        StepState(
            step_number=1, name="data_collection", status="completed", result={"documents": 150}, duration_ms=5400
        )
    ]


async def test_create_twice_is_an_error_and_writes_nothing(wf: WorkflowStateManager) -> None:
    first = await wf.create(WorkflowState(workflow_id="w", total_steps=3, context={"a": 1}, name="etl"))
    assert (first.version, first.status, first.context, first.name) == (1, S.PENDING, {"a": 1}, "etl")
    with pytest.raises(AlreadyExistsError, match="'w' already exists"):
        await wf.create(WorkflowState(workflow_id="w", total_steps=9, context={"b": 2}))
    assert await wf.get("w") == first
    with pytest.raises(NotFoundError):
        await wf.get("nope")


async def test_bad_input_is_refused_before_anything_is_written(wf: WorkflowStateManager) -> None:
    with pytest.raises(InvalidInputError, match="total_steps"):
        WorkflowState(workflow_id="w", total_steps=0)
    with pytest.raises(InvalidInputError, match="completed"):
        await wf.create(WorkflowState(workflow_id="w", total_steps=3, status="completed"))
    with pytest.raises(InvalidInputError, match="current_step 4 is beyond total_steps 3"):
        await wf.create(WorkflowState(workflow_id="w", total_steps=3, current_step=4))
    with pytest.raises(NotFoundError):
        await wf.get("w")
    await wf.create(WorkflowState(workflow_id="w", total_steps=3))
    with pytest.raises(InvalidInputError, match="step_number"):
        StepState(step_number=0, status="completed")
    with pytest.raises(InvalidInputError, match="status"):
        StepState(step_number=1, status="done")
    with pytest.raises(InvalidInputError, match="step_number 4 is beyond total_steps 3"):
        await wf.update_step("w", done(4))
    with pytest.raises(InvalidInputError, match="not JSON-serializable"):
        await wf.update_step("w", done(1), context={"x": float("nan")})
    with pytest.raises(InvalidInputError, match="reserved"):
        await wf.checkpoint(WorkflowCheckpoint(workflow_id="w", checkpoint_id="auto-3"))
    with pytest.raises(InvalidInputError, match="beyond total_steps"):
        await wf.checkpoint(WorkflowCheckpoint(workflow_id="w", checkpoint_id="c", step=7))
    with pytest.raises(InvalidInputError, match="unknown workflow status"):
        await wf.list_workflows("sleeping")
    after = await wf.get("w")
    assert (after.version, after.status, after.current_step) == (1, S.PENDING, 0)
    assert await wf.list_checkpoints("w") == []
    assert await wf.get_steps("w") == []
    with pytest.raises(NotFoundError):
        await wf.update_step("ghost", done(1))


# -- the state machine table -----------------------------------------------------------------------

OPS = ["start", "pause", "resume", "cancel", "update_step", "resume_from"]
LEGAL = {  # op -> {from status: to status}
    "start": {S.PENDING: S.RUNNING},
    "pause": {S.RUNNING: S.PAUSED},
    "resume": {S.PAUSED: S.RUNNING},
    "cancel": {S.PENDING: S.CANCELLED, S.RUNNING: S.CANCELLED, S.PAUSED: S.CANCELLED},
    "update_step": {S.PENDING: S.RUNNING, S.RUNNING: S.RUNNING},
    "resume_from": {S.PENDING: S.RUNNING, S.RUNNING: S.RUNNING, S.PAUSED: S.RUNNING, S.FAILED: S.RUNNING},
}


async def _bring_to(wf: WorkflowStateManager, wid: str, status: WorkflowStatus) -> None:
    await wf.create(WorkflowState(workflow_id=wid, total_steps=2, context={"k": 0}))
    await wf.checkpoint(WorkflowCheckpoint(workflow_id=wid, checkpoint_id="start", step=0))
    if status == S.PENDING:
        return
    if status == S.CANCELLED:
        await wf.cancel(wid, reason="test")
        return
    await wf.start(wid)
    if status == S.PAUSED:
        await wf.pause(wid)
    elif status == S.COMPLETED:
        await wf.update_step(wid, done(1))
        await wf.update_step(wid, done(2))
    elif status == S.FAILED:
        await wf.update_step(wid, StepState(step_number=1, status="failed", error="boom"))
    assert await wf.get_status(wid) == status


async def _apply(wf: WorkflowStateManager, op: str, wid: str) -> WorkflowState:
    if op == "cancel":
        return await wf.cancel(wid, reason="why")
    if op == "update_step":
        return await wf.update_step(wid, StepState(step_number=1, status="completed", result="fresh"))
    if op == "resume_from":
        return await wf.resume_from(wid, "start")
    return await getattr(wf, op)(wid)


@pytest.mark.parametrize("op", OPS)
async def test_state_machine_table(wf: WorkflowStateManager, op: str) -> None:
    """Every (status, operation) pair: legal ones move to the right status, illegal ones raise
    InvalidTransitionError naming the current status and change nothing at all."""
    for status in S:
        wid = f"{op}-{status.value}"
        await _bring_to(wf, wid, status)
        before = await wf.get(wid)
        history = await wf.history(wid)
        checkpoints = await wf.list_checkpoints(wid)
        target = LEGAL[op].get(status)
        if target is not None:
            after = await _apply(wf, op, wid)
            assert after.status == target, (op, status)
            assert after.version == before.version + 1
            assert await wf.get(wid) == after
        else:
            with pytest.raises(InvalidTransitionError) as err:
                await _apply(wf, op, wid)
            assert err.value.status == status.value and err.value.op == op
            assert f"while status is '{status.value}'" in str(err.value)
            assert await wf.get(wid) == before, (op, status)
            assert await wf.history(wid) == history
            assert await wf.list_checkpoints(wid) == checkpoints


async def test_a_done_step_cannot_go_back(wf: WorkflowStateManager) -> None:
    await wf.create(WorkflowState(workflow_id="w", total_steps=3))
    await wf.update_step("w", done(1))
    before = await wf.get("w")
    with pytest.raises(InvalidTransitionError, match="cannot update_step to running while status is 'completed'"):
        await wf.update_step("w", StepState(step_number=1, status="running"))
    assert await wf.get("w") == before


# -- steps -------------------------------------------------------------------------------------------


async def test_steps_advance_and_complete_the_workflow(wf: WorkflowStateManager) -> None:
    await wf.create(WorkflowState(workflow_id="w", total_steps=3))
    s = await wf.update_step("w", StepState(step_number=1, status="running"))
    assert (s.status, s.current_step, s.started_at is not None) == (S.RUNNING, 0, True)
    s = await wf.update_step("w", done(1, result={"rows": 3}, duration_ms=12))
    assert s.current_step == 1
    s = await wf.update_step("w", StepState(step_number=3, status="skipped"))
    assert (s.current_step, s.completed_steps) == (1, 2), "step 2 is not done: current_step waits"
    s = await wf.update_step("w", done(2), context={"out": [1, 2]})
    assert (s.current_step, s.completed_steps, s.status) == (3, 3, S.COMPLETED)
    assert s.finished_at is not None and s.context == {"out": [1, 2]}
    assert [st.status.value for st in await wf.get_steps("w")] == ["completed", "completed", "skipped"]
    assert [st.step_number for st in await wf.step_history("w")] == [2, 3, 1, 1]


@on_cluster
async def test_resending_the_same_step_is_harmless(wf: WorkflowStateManager) -> None:
    await wf.create(WorkflowState(workflow_id="w", total_steps=10))
    for n in (1, 2, 3):
        await wf.update_step("w", done(n, result=n))
    s = await wf.get("w")
    assert (s.current_step, s.completed_steps) == (3, 3)
    assert [c.checkpoint_id for c in await wf.list_checkpoints("w")] == ["auto-3"]
    history = await wf.history("w")
    for n in (1, 2, 3):
        again = await wf.update_step("w", done(n, result=n))
        assert again == s, "an identical re-send writes nothing"
    # the same status with a different record updates the record but does not advance
    changed = await wf.update_step("w", done(3, result="late"))
    assert (changed.current_step, changed.completed_steps, changed.version) == (3, 3, s.version + 1)
    assert [c.checkpoint_id for c in await wf.list_checkpoints("w")] == ["auto-3"]
    assert len(await wf.history("w")) == len(history) + 1


async def test_failed_step_fails_the_workflow_unless_retried(wf: WorkflowStateManager) -> None:
    await wf.create(WorkflowState(workflow_id="w", total_steps=2))
    s = await wf.update_step("w", StepState(step_number=1, status="failed", error="timeout", retry=True))
    assert s.status == S.RUNNING and s.error is None
    await wf.update_step("w", done(1))
    s = await wf.update_step("w", StepState(step_number=2, status="failed", error="bad input"))
    assert (s.status, s.error, s.failed_step, s.current_step) == (S.FAILED, "bad input", 2, 1)
    with pytest.raises(InvalidTransitionError, match="'failed'"):
        await wf.update_step("w", done(2))


# -- checkpoints -------------------------------------------------------------------------------------


@on_cluster
async def test_automatic_checkpoints_every_interval_and_resume_from(wf: WorkflowStateManager) -> None:
    await wf.create(WorkflowState(workflow_id="w", total_steps=10, context={"seed": 1}))
    for n in range(1, 11):
        await wf.update_step("w", done(n), context={"last": n})
        ids = [c.checkpoint_id for c in await wf.list_checkpoints("w")]
        assert ids == [f"auto-{k}" for k in (9, 6, 3) if k <= n], n
    cps = await wf.list_checkpoints("w")
    assert [(c.step, c.context, c.automatic) for c in cps] == [
        (9, {"seed": 1, "last": 9}, True),
        (6, {"seed": 1, "last": 6}, True),
        (3, {"seed": 1, "last": 3}, True),
    ]
    assert isinstance(cps[1].state, WorkflowState) and cps[1].state.current_step == 6
    assert cps[0].timestamp >= cps[1].timestamp
    assert (await wf.get("w")).status == S.COMPLETED
    with pytest.raises(InvalidTransitionError, match="cannot resume_from while status is 'completed'"):
        await wf.resume_from("w", "auto-6")

    await wf.create(WorkflowState(workflow_id="v", total_steps=10, context={"seed": 1}))
    for n in range(1, 9):
        await wf.update_step("v", done(n), context={"last": n})
    await wf.pause("v")
    s = await wf.resume_from("v", "auto-6")
    assert (s.status, s.current_step, s.completed_steps, s.context) == (S.RUNNING, 6, 6, {"seed": 1, "last": 6})
    assert (s.restored_from, s.restored_at is not None) == ("auto-6", True)
    assert [st.step_number for st in await wf.get_steps("v")] == [1, 2, 3, 4, 5, 6]
    assert (await wf.history("v", limit=1))[0]["op"] == "resume_from"
    s = await wf.update_step("v", done(7))
    assert (s.current_step, s.completed_steps) == (7, 7), "step 7 runs again after the restore"
    for n in (8, 9):
        await wf.update_step("v", done(n))
    assert [c.checkpoint_id for c in await wf.list_checkpoints("v")] == ["auto-9", "auto-6", "auto-3"]
    with pytest.raises(NotFoundError, match="checkpoint 'v/nope'"):
        await wf.resume_from("v", "nope")


async def test_manual_checkpoints_newest_first_capped(backend: Backend) -> None:
    wf = WorkflowStateManager(backend=backend, checkpoint_interval=0, max_checkpoints=3)
    await wf.create(WorkflowState(workflow_id="w", total_steps=10, context={"a": 1}))
    await wf.update_step("w", done(1))
    cp = await wf.checkpoint(WorkflowCheckpoint(workflow_id="w", checkpoint_id="c0"))
    assert (cp.step, cp.context, cp.automatic) == (1, {"a": 1}, False)
    with pytest.raises(AlreadyExistsError):
        await wf.checkpoint(WorkflowCheckpoint(workflow_id="w", checkpoint_id="c0", step=0))
    mine = WorkflowState(workflow_id="w", total_steps=10, current_step=1)
    for i in range(1, 5):
        await wf.checkpoint(
            WorkflowCheckpoint(workflow_id="w", checkpoint_id=f"c{i}", step=i, context={"i": i}, state=mine)
        )
    cps = await wf.list_checkpoints("w")
    assert [c.checkpoint_id for c in cps] == ["c4", "c3", "c2"], "cap 3, oldest dropped"
    assert cps[0].state == mine
    s = await wf.resume_from("w", "c3")
    assert (s.current_step, s.context) == (3, {"i": 3})
    with pytest.raises(NotFoundError):
        await wf.resume_from("w", "c0")


# -- listing -----------------------------------------------------------------------------------------


async def test_listing_by_status_pages_and_repairs(wf: WorkflowStateManager, backend: Backend) -> None:
    for i in range(7):
        await wf.create(WorkflowState(workflow_id=f"job{i}", total_steps=2))
    for i in (1, 3, 5):
        await wf.start(f"job{i}")
    await wf.pause("job5")
    assert await wf.list_workflows("pending", limit=2) == ["job0", "job2"]
    assert await wf.list_workflows(S.PENDING, limit=2, after="job2") == ["job4", "job6"]
    assert await wf.list_workflows(S.PENDING, limit=2, after="job6") == []
    assert await wf.list_workflows(S.RUNNING) == ["job1", "job3"]
    assert await wf.list_workflows(S.PAUSED) == ["job5"]
    assert await wf.count_workflows("pending") == 4

    # a process that died between the transition and its index call: the index is stale
    await backend.run("workflows/start", wf._entity_keys("job0"), ["", "", "job0", 100])
    assert await wf.count_workflows("pending") == 4
    assert await wf.list_workflows(S.PENDING, limit=2) == ["job2", "job4"], "stale entry skipped"
    assert await wf.list_workflows(S.RUNNING) == ["job0", "job1", "job3"], "and repaired"

    idx = backend.keys.index("workflows")
    await backend.client.delete(idx.base, idx("versions"))
    assert await wf.list_workflows(S.RUNNING) == []
    assert await wf.reindex() == 7
    assert await wf.list_workflows(S.RUNNING) == ["job0", "job1", "job3"]
    assert await wf.count_workflows(S.PENDING) == 3


# -- leases ------------------------------------------------------------------------------------------


@on_cluster
async def test_lease_fencing(wf: WorkflowStateManager) -> None:
    await wf.create(WorkflowState(workflow_id="w", total_steps=5))
    a = await wf.acquire_lease("w", "worker-a")
    assert await wf.acquire_lease("w", "worker-a") == a, "the holder re-acquiring keeps its token"
    with pytest.raises(LeaseError, match="held by worker-a"):
        await wf.acquire_lease("w", "worker-b")
    with pytest.raises(LeaseError):
        await wf.update_step("w", done(1))
    await wf.update_step("w", done(1), fencing_token=a)
    await wf.renew_lease("w", a, ttl=60)
    await wf.release_lease("w", a)
    b = await wf.acquire_lease("w", "worker-b")
    assert b > a
    before = await wf.get("w")
    with pytest.raises(LeaseError, match="stale fencing token"):
        await wf.update_step("w", done(2), fencing_token=a)
    with pytest.raises(LeaseError):
        await wf.checkpoint(WorkflowCheckpoint(workflow_id="w", checkpoint_id="x"), fencing_token=a)
    assert await wf.get("w") == before
    assert (await wf.update_step("w", done(2), fencing_token=b)).current_step == 2
    await wf.pause("w")  # control operations need no token


@on_cluster
async def test_resume_and_resume_from_respect_a_live_lease(wf: WorkflowStateManager) -> None:
    """Rewinding or restarting a workflow someone else drives needs their token; stopping it does not."""
    await wf.create(WorkflowState(workflow_id="w", total_steps=10, context={"k": 0}))
    await wf.checkpoint(WorkflowCheckpoint(workflow_id="w", checkpoint_id="start", step=0))
    a = await wf.acquire_lease("w", "worker-a", ttl=60)
    for n in (1, 2):
        await wf.update_step("w", done(n), fencing_token=a)
    before = await wf.get("w")
    history = await wf.history("w")
    with pytest.raises(LeaseError, match="held by worker-a"):
        await wf.resume_from("w", "start")
    assert await wf.get("w") == before and await wf.history("w") == history, "refused: nothing written"

    await wf.pause("w")  # an orchestrator can always stop a worker
    with pytest.raises(LeaseError, match="held by worker-a"):
        await wf.resume("w")
    assert (await wf.get("w")).status == S.PAUSED
    with pytest.raises(LeaseError, match="stale fencing token"):
        await wf.resume("w", fencing_token=a + 1)
    resumed = await wf.resume("w", fencing_token=a)
    assert resumed.status == S.RUNNING
    with pytest.raises(LeaseError, match="stale fencing token"):
        await wf.resume_from("w", "start", fencing_token=a + 1)
    rewound = await wf.resume_from("w", "start", fencing_token=a)
    assert (rewound.status, rewound.current_step) == (S.RUNNING, 0)

    # once the holder lets go, a stale token is still refused and no token is needed
    await wf.update_step("w", done(1), fencing_token=a)
    await wf.release_lease("w", a)
    b = await wf.acquire_lease("w", "worker-b", ttl=60)
    with pytest.raises(LeaseError, match="stale fencing token"):
        await wf.resume_from("w", "start", fencing_token=a)
    await wf.release_lease("w", b)
    assert (await wf.resume_from("w", "start")).current_step == 0
    assert (await wf.pause("w")).status == S.PAUSED
    assert (await wf.resume("w")).status == S.RUNNING

    # cancel needs no token either; the holder's next step is refused by the status machine
    c = await wf.acquire_lease("w", "worker-c", ttl=60)
    assert (await wf.cancel("w", reason="stop")).status == S.CANCELLED
    with pytest.raises(InvalidTransitionError, match="'cancelled'"):
        await wf.update_step("w", done(1), fencing_token=c)


async def test_checkpoint_returns_what_it_stored_in_one_call(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    """checkpoint() returns the checkpoint its own script stored, even when concurrent writers
    have pushed it out of the retained list before the caller could read it back."""
    wf = WorkflowStateManager(backend=backend, checkpoint_interval=0, max_checkpoints=2)
    await wf.create(WorkflowState(workflow_id="w", total_steps=10, context={"a": 1}))
    await wf.update_step("w", done(1))
    run = backend.run
    calls: list[str] = []

    async def run_then_race(script: str, keys: list[str], args: list[object] = ()) -> object:  # type: ignore[assignment]
        calls.append(script)
        reply = await run(script, keys, args)
        if script == "workflows/checkpoint" and len(calls) == 1:
            for i in range(2):  # another process writes two more: ours is dropped by the cap
                await run(script, keys, [f"race-{i}", *args[1:3], f"other{i}", *args[4:]])
        return reply

    monkeypatch.setattr(backend, "run", run_then_race)
    mine = WorkflowState(workflow_id="w", total_steps=10, current_step=1)
    cp = await wf.checkpoint(
        WorkflowCheckpoint(workflow_id="w", checkpoint_id="mine", step=1, context={"b": 2}, state=mine)
    )
    assert calls == ["workflows/checkpoint"], "one script call"
    assert (cp.workflow_id, cp.checkpoint_id, cp.step, cp.context, cp.state, cp.automatic) == (
        "w",
        "mine",
        1,
        {"b": 2},
        mine,
        False,
    )
    assert cp.timestamp is not None
    monkeypatch.undo()
    assert [c.checkpoint_id for c in await wf.list_checkpoints("w")] == ["other1", "other0"]
    captured = await wf.checkpoint(WorkflowCheckpoint(workflow_id="w", checkpoint_id="now"))
    assert (captured.step, captured.context, captured.state.current_step) == (1, {"a": 1}, 1)
    assert captured == (await wf.list_checkpoints("w"))[0]


async def test_listing_drops_entries_of_workflows_that_no_longer_exist(
    wf: WorkflowStateManager, backend: Backend
) -> None:
    """The index does not keep deleted or expired workflows: a listing page that meets one drops it."""
    for i in range(4):
        await wf.create(WorkflowState(workflow_id=f"job{i}", total_steps=2))
    await wf.start("job3")
    for wid in ("job1", "job3"):  # deleted (or expired): every key of the workflow is gone
        k = backend.keys.workflow(wid)
        await backend.client.delete(k.base, k("ctx"), k("hist"), k.ops, k.ops_prev)
    idx = backend.keys.index("workflows")
    assert await wf.count_workflows(S.PENDING) == 3 and await wf.count_workflows(S.RUNNING) == 1
    assert await wf.list_workflows(S.PENDING) == ["job0", "job2"]
    assert await wf.count_workflows(S.PENDING) == 2, "the ghost's entry is gone"
    assert not await backend.client.hexists(idx("versions"), "job1")
    assert await wf.list_workflows(S.RUNNING) == []
    assert await wf.count_workflows(S.RUNNING) == 0
    # the same id created again is filed like any new workflow
    await wf.create(WorkflowState(workflow_id="job1", total_steps=2))
    assert await wf.list_workflows(S.PENDING) == ["job0", "job1", "job2"]
    # reindex() also drops ghosts that no listing has met yet
    k = backend.keys.workflow("job2")
    await backend.client.delete(k.base)
    assert await wf.reindex() == 2
    assert await wf.count_workflows(S.PENDING) == 2
    assert await backend.client.hlen(idx("versions")) == 2

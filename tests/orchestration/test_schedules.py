"""Schedules on every backend (issue 22, item 4): add/list/pause/resume/remove, validation, the
fire script as the judge of a claim, end and limit, and each catchup policy after an outage,
checked against a plain model of the policies."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from typing import Any

import pytest

from agentstate_redis import InvalidInputError, NotFoundError, OrchestrationStateManager

TEAM = "sched_team"
EVERY = 0.2
GRACE = 0.1


def tick_of(task_id: str) -> int:
    return int(task_id.rsplit("@", 1)[1])


async def test_add_list_pause_resume_remove(orch: OrchestrationStateManager) -> None:
    template = {"type": "report", "priority": "high", "data": {"scope": "all"}, "owner": "ops"}
    s = await orch.add_schedule(TEAM, "report", template, every=60)
    assert (s.schedule_id, s.every, s.cron, s.status, s.runs, s.version) == ("report", 60.0, None, "active", 0, 1)
    assert s.task_template == {
        "type": "report",
        "priority": 100,
        "max_attempts": 3,
        "data": {"scope": "all"},
        "owner": "ops",
    }
    assert s.next_run_at is not None and s.next_run_at % 60 == 0 and s.next_run_at >= time.time() - 1
    # the same definition again (every pod at boot) changes nothing; a different one is a new version
    assert (await orch.add_schedule(TEAM, "report", template, every=60)).version == 1
    c = await orch.add_schedule(
        TEAM, "nightly", {"type": "digest"}, cron="0 3 * * *", timezone="Europe/Paris", catchup="none", limit=10
    )
    assert (c.cron, c.timezone, c.catchup, c.limit) == ("0 3 * * *", "Europe/Paris", "none", 10)
    assert (await orch.add_schedule(TEAM, "report", template, every=120)).version == 2
    assert [x.schedule_id for x in await orch.list_schedules(TEAM)] == ["nightly", "report"]

    paused = await orch.pause_schedule(TEAM, "report")
    assert paused.status == "paused" and paused.next_run_at is None
    assert (await orch.pause_schedule(TEAM, "report")).status == "paused"
    assert (await orch.resume_schedule(TEAM, "report")).status == "active"
    with pytest.raises(NotFoundError):
        await orch.pause_schedule(TEAM, "nope")
    with pytest.raises(NotFoundError):
        await orch.add_schedule("no_such_team", "x", {}, every=1)

    assert await orch.remove_schedule(TEAM, "report") is True
    assert await orch.remove_schedule(TEAM, "report") is False
    assert [x.schedule_id for x in await orch.list_schedules(TEAM)] == ["nightly"]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({}, "exactly one of every"),
        ({"every": 1, "cron": "* * * * *"}, "exactly one of every"),
        ({"cron": "61 * * * *"}, "'61 * * * *' is not valid"),
        ({"cron": "every day"}, "is not valid"),
        ({"cron": "0 * * * *", "timezone": "Mars/Olympus"}, "'Mars/Olympus' is not a known"),
        ({"every": 0}, "every must be a positive"),
        ({"every": 0.001}, "at least"),
        ({"every": 5, "timezone": "Europe/Paris"}, "timezone applies to cron"),
        ({"every": 5, "catchup": "some"}, "catchup must be one of"),
        ({"every": 5, "start_at": 2_000_000_000, "end_at": 1_900_000_000}, "end_at"),
        ({"every": 5, "limit": 0}, "limit must be an integer"),
        ({"every": 5, "misfire_grace": -1}, "misfire_grace"),
    ],
)
async def test_bad_definitions_are_refused_and_write_nothing(
    orch: OrchestrationStateManager, kwargs: dict[str, Any], words: str
) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(words)):
        await orch.add_schedule(TEAM, "bad", {"type": "x"}, **kwargs)
    assert await orch.list_schedules(TEAM) == []


async def test_bad_templates_and_ids_are_refused(orch: OrchestrationStateManager) -> None:
    with pytest.raises(InvalidInputError, match="must not have an id"):
        await orch.add_schedule(TEAM, "s", {"id": "fixed", "type": "x"}, every=1)
    with pytest.raises(InvalidInputError, match="priority"):
        await orch.add_schedule(TEAM, "s", {"priority": "urgent"}, every=1)
    with pytest.raises(InvalidInputError, match="task_template must be a dict"):
        await orch.add_schedule(TEAM, "s", ["x"], every=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        await orch.add_schedule(TEAM, "", {}, every=1)
    assert await orch.list_schedules(TEAM) == []


async def _pass_until(orch: OrchestrationStateManager, n: int, timeout: float = 10.0) -> list[str]:
    """Run scheduler passes (as run_scheduler does, minus the sleep) until ``n`` tasks were enqueued."""
    created: list[str] = []
    deadline = time.monotonic() + timeout
    while len(created) < n:
        assert time.monotonic() < deadline, f"only {created} after {timeout}s"
        created += await orch.run_due_schedules(TEAM)
        await asyncio.sleep(0.02)
    return created


async def test_ticks_enqueue_the_template_on_the_grid_until_the_limit(orch: OrchestrationStateManager) -> None:
    await orch.add_schedule(TEAM, "poll", {"type": "poll", "data": {"n": 1}, "priority": 7}, every=EVERY, limit=3)
    created = await _pass_until(orch, 3)
    ticks = [tick_of(t) for t in created]
    assert all(t % int(EVERY * 1000) == 0 for t in ticks)
    assert [b - a for a, b in itertools.pairwise(ticks)] == [int(EVERY * 1000)] * 2
    task = await orch.get_task(TEAM, created[0])
    assert (task.type, task.data, task.priority, task.status) == ("poll", {"n": 1}, 7, "pending")
    await asyncio.sleep(3 * EVERY)
    assert await orch.run_due_schedules(TEAM) == []
    (s,) = await orch.list_schedules(TEAM)
    assert (s.status, s.runs, s.next_run_at, s.last_run_at) == ("done", 3, None, ticks[-1] / 1000)


async def test_end_at_finishes_a_schedule(orch: OrchestrationStateManager) -> None:
    start = (int(time.time() / EVERY) + 2) * EVERY
    await orch.add_schedule(TEAM, "short", {"type": "x"}, every=EVERY, start_at=start, end_at=start + 2 * EVERY)
    assert (await orch.list_schedules(TEAM))[0].next_run_at == pytest.approx(start)
    created = await _pass_until(orch, 3)
    assert [tick_of(t) for t in created] == [round((start + i * EVERY) * 1000) for i in range(3)]
    await asyncio.sleep(2 * EVERY)
    assert await orch.run_due_schedules(TEAM) == []
    assert (await orch.list_schedules(TEAM))[0].status == "done"


async def test_paused_ticks_never_run(orch: OrchestrationStateManager) -> None:
    await orch.add_schedule(TEAM, "p", {"type": "x"}, every=EVERY, catchup="all")
    before = await _pass_until(orch, 1)
    await orch.pause_schedule(TEAM, "p")
    paused_at = time.time()
    await asyncio.sleep(5 * EVERY)
    assert await orch.run_due_schedules(TEAM) == []
    await orch.resume_schedule(TEAM, "p")
    resumed_at = time.time()
    after = await _pass_until(orch, 1)
    gap = [t for t in after if paused_at + EVERY < tick_of(t) / 1000 < resumed_at - 0.05]
    assert gap == [] and tick_of(after[0]) > tick_of(before[-1]) + 4 * EVERY * 1000


def _expected(policy: str, grid: list[int], first: int, at: int, grace_ms: int) -> list[int]:
    """The plain model: the due ticks at ``at``, those older than the grace were missed."""
    due = [g for g in grid if first <= g <= at]
    missed = [g for g in due if g < at - grace_ms]
    on_time = [g for g in due if g >= at - grace_ms]
    if policy == "all":
        return due
    if policy == "none":
        return on_time
    return missed[-1:] + on_time


async def test_each_catchup_policy_after_an_outage(orch: OrchestrationStateManager) -> None:
    every_ms, grace_ms = int(EVERY * 1000), int(GRACE * 1000)
    for policy in ("latest", "none", "all"):
        await orch.add_schedule(TEAM, policy, {"type": "x"}, every=EVERY, catchup=policy, misfire_grace=GRACE)
    await orch.run_due_schedules(TEAM)  # the first pass computes each next tick
    nexts = {s.schedule_id: round(s.next_run_at * 1000) for s in await orch.list_schedules(TEAM)}  # type: ignore[operator]
    await asyncio.sleep(8 * EVERY)  # no scheduler runs: 7 or 8 ticks go by
    t0 = int(time.time() * 1000)
    created = await orch.run_due_schedules(TEAM)
    t1 = int(time.time() * 1000) + 1
    grid = [nexts["all"] + i * every_ms for i in range(20)]
    # the pass ran at some server time in [t0, t1]: one of the model's answers for a time there is it
    moments = {t0, t1} | {m for g in grid for m in (g, g + 1, g + grace_ms, g + grace_ms + 1) if t0 <= m <= t1}
    for policy in ("latest", "none", "all"):
        got = sorted(tick_of(t) for t in created if t.startswith(policy + "@"))
        models = [_expected(policy, grid, nexts[policy], m, grace_ms) for m in sorted(moments)]
        assert got in models, (policy, got, models)
        if policy == "all":
            assert len(got) >= 7
        if policy == "latest":
            # the missed ticks ran once, as one (which one was the newest depends on the pass's moment)
            assert len([g for g in got if g < t0 - grace_ms]) <= 1 <= len([g for g in got if g < t1 - grace_ms])
        if policy == "none":
            assert all(g >= t0 - grace_ms - 5 for g in got)
    for s in await orch.list_schedules(TEAM):
        assert s.next_run_at is not None and s.next_run_at * 1000 > t0 - grace_ms


async def test_the_fire_script_is_the_judge_of_a_claim(orch: OrchestrationStateManager) -> None:
    """A claim must name the stored next tick, be due by the server clock and sit on the grid."""
    await orch.add_schedule(TEAM, "j", {"type": "x"}, every=EVERY)
    await orch.run_due_schedules(TEAM)
    (s,) = await orch.list_schedules(TEAM)
    nxt = round(s.next_run_at * 1000)  # type: ignore[operator]
    step = int(EVERY * 1000)

    async def fire(expected: Any, new_next: int, *ticks: int) -> Any:
        from agentstate_redis.orchestration.wire import reply

        return reply(
            await orch._write(
                "schedule_fire", TEAM, orch._window_ms(), "j", s.version, expected, new_next, *ticks, op_id=""
            )
        )

    far = nxt + 100 * step
    assert (await fire(nxt, far + step, far))["status"] == "early"  # not due yet: nothing written
    assert (await fire(nxt - step, nxt + step, nxt))["status"] == "stale"  # not the stored next tick
    with pytest.raises(InvalidInputError, match="not a successor"):
        await fire(nxt, nxt + step, nxt + 1)  # off the every grid
    with pytest.raises(InvalidInputError, match="does not follow"):
        await fire(nxt, nxt, nxt)
    await asyncio.sleep(max(0.0, nxt / 1000 - time.time()) + 0.05)
    before = (await orch.get_queue_status(TEAM)).pending_count  # the pass above may have fired a tick on a slow machine
    first = await fire(nxt, nxt + step, nxt)
    assert first["status"] == "fired" and first["created"] == [f"j@{nxt}"]
    again = await fire(nxt, nxt + step, nxt)  # a resend, or a second scheduler
    assert again["status"] == "stale" and again["created"] in ([], {})
    assert (await orch.get_queue_status(TEAM)).pending_count == before + 1


async def test_a_tick_enqueued_once_even_when_its_schedule_is_re_added(orch: OrchestrationStateManager) -> None:
    await orch.add_schedule(TEAM, "r", {"type": "x"}, every=EVERY, catchup="all")
    first = await _pass_until(orch, 2)
    await orch.remove_schedule(TEAM, "r")
    await orch.add_schedule(TEAM, "r", {"type": "x"}, every=EVERY, catchup="all")
    more = await _pass_until(orch, 2)
    assert not set(first) & set(more)
    assert (await orch.get_queue_status(TEAM)).pending_count == 4

"""Team limits on every backend: concurrency and claims per second, team-wide or per capability."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from agentstate_redis import InvalidInputError, InvalidTransitionError, OrchestrationStateManager
from agentstate_redis.orchestration import TeamLimits
from agentstate_redis.orchestration.layout import CONTROL_FIELDS

TEAM = "limits_team"


async def flag(orch: OrchestrationStateManager) -> Any:
    return await orch.backend.run(
        "orchestration/counters", [orch.keys.team(TEAM).base], [TEAM, CONTROL_FIELDS["has_limits"]]
    )


async def test_max_in_progress_holds_claims_until_a_task_finishes(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": f"t{i}"} for i in range(5)])
    events: list[Any] = []
    await orch.subscribe_events(TEAM, events.append)
    set_to = await orch.set_team_limits(TEAM, max_in_progress=2)
    assert set_to == TeamLimits(capability=None, max_in_progress=2)
    first = [await orch.claim_task(TEAM, f"w{i}") for i in range(2)]
    assert [t.id for t in first if t] == ["t0", "t1"]
    assert await orch.claim_task(TEAM, "w2") is None
    [limits] = await orch.get_team_limits(TEAM)
    assert limits.in_progress == 2 and limits.max_in_progress == 2 and limits.retry_after > 0
    assert first[0] is not None
    nxt = await orch.complete_and_claim(TEAM, "t0", token=first[0].token)  # completes, then takes the freed slot
    assert nxt is not None and nxt.id == "t2"
    assert await orch.complete_and_claim(TEAM, "t2", token=nxt.token) is not None  # t3: still 2 in progress
    assert (await orch.get_queue_status(TEAM, page_size=0)).in_progress_count == 2
    assert await orch.claim_task(TEAM, "w2") is None

    async def finish_soon() -> None:
        await asyncio.sleep(0.3)
        assert first[1] is not None
        await orch.complete_task(TEAM, "t1", token=first[1].token)

    waiter = asyncio.ensure_future(finish_soon())
    started = time.monotonic()
    got = await orch.claim_task(TEAM, "w2", wait=5)  # waits it out
    await waiter
    assert got is not None and got.id == "t4" and 0.25 < time.monotonic() - started < 3
    for _ in range(50):
        if any(e.op == "team_limits" for e in events):
            break
        await asyncio.sleep(0.02)
    assert [e.data["max_in_progress"] for e in events if e.op == "team_limits"] == [2]


async def test_max_per_second_holds_a_window_of_claims(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": f"t{i}"} for i in range(4)])
    await orch.set_team_limits(TEAM, max_per_second=2)
    got = [await orch.claim_task(TEAM, f"w{i}") for i in range(3)]
    assert [t.id for t in got if t] == ["t0", "t1"] and got[2] is None
    [limits] = await orch.get_team_limits(TEAM)
    assert limits.last_second == 2 and 0 < limits.retry_after <= 1.0
    started = time.monotonic()
    third = await orch.claim_task(TEAM, "w3", wait=3)  # blocks until the window frees
    assert third is not None and third.id == "t2" and third.started_at is not None
    assert got[0] is not None and got[0].started_at is not None
    assert third.started_at - got[0].started_at >= 1.0  # server clock
    assert time.monotonic() - started < 2.5


async def test_a_capability_limit_applies_only_to_that_capability(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(
        TEAM,
        [
            {"id": "g1", "capability": "gpu"},
            {"id": "g2", "capability": "gpu"},
            *({"id": f"c{i}", "capability": "cpu"} for i in range(3)),
        ],
    )
    held = await orch.claim_task(TEAM, "early", capabilities=["gpu"])  # in progress before the limit
    assert held is not None and held.id == "g1"
    await orch.set_team_limits(TEAM, max_in_progress=1, capability="gpu")
    assert await orch.claim_task(TEAM, "w1", capabilities=["gpu"]) is None  # g1 counts already
    both = [await orch.claim_task(TEAM, f"c{i}", capabilities=["gpu", "cpu"]) for i in range(3)]
    assert [t.id for t in both if t] == ["c0", "c1", "c2"]  # cpu: no limit
    with pytest.raises(InvalidTransitionError) as err:
        await orch.assign_task(TEAM, "g2", "c0")  # assign is held too
    assert err.value.status == "limited"
    await orch.release_task(TEAM, "g1", token=held.token)
    again = await orch.claim_task(TEAM, "w1", capabilities=["gpu"])
    assert again is not None and again.id == "g1"
    rows = await orch.get_team_limits(TEAM)
    assert [(r.capability, r.max_in_progress, r.in_progress) for r in rows] == [("gpu", 1, 1)]


async def test_clearing_the_limits_drops_the_flag_and_wakes_claimers(orch: OrchestrationStateManager) -> None:
    assert await flag(orch) == [""]
    await orch.enqueue_tasks(TEAM, [{"id": "t0"}, {"id": "t1"}])
    await orch.set_team_limits(TEAM, max_in_progress=1, max_per_second=5)
    await orch.set_team_limits(TEAM, max_in_progress=1, capability="gpu")
    assert (await flag(orch))[0] == "1"
    assert await orch.claim_task(TEAM, "w0") is not None
    waiting = asyncio.ensure_future(orch.claim_task(TEAM, "w1", wait=5))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    cleared = await orch.set_team_limits(TEAM)  # both None: the team scope is cleared
    assert cleared.max_in_progress is None and cleared.max_per_second is None
    got = await asyncio.wait_for(waiting, 2)
    assert got is not None and got.id == "t1"
    assert [r.capability for r in await orch.get_team_limits(TEAM)] == ["gpu"]
    await orch.set_team_limits(TEAM, capability="gpu")
    assert await orch.get_team_limits(TEAM) == [] and await flag(orch) == [""]


async def test_limit_arguments_are_checked_and_nothing_is_written(orch: OrchestrationStateManager) -> None:
    for kwargs, name in (
        ({"max_in_progress": 0}, "max_in_progress"),
        ({"max_in_progress": 2.5}, "max_in_progress"),
        ({"max_per_second": -1}, "max_per_second"),
        ({"max_per_second": True}, "max_per_second"),
        ({"capability": ""}, "capability"),
        ({"capability": "a\nb"}, "capability"),
        ({"capability": 5}, "capability"),
    ):
        with pytest.raises(InvalidInputError, match=name):
            await orch.set_team_limits(TEAM, **kwargs)
    assert await orch.get_team_limits(TEAM) == []

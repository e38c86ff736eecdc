"""remove_agent and prune_agents on every backend: a team's agents set stays bounded by the live
fleet (DESIGN rule 9) even though every pod hostname joins it. Refusal while an agent holds a
task, pruning by server-clock age, events, op-id replay, bounded work per script call."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from agentstate_redis import (
    AgentCoordinationState,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    OrchestrationStateManager,
    TeamState,
)
from agentstate_redis.backends.base import Backend

from ..waiting import eventually

TEAM = "prune_team"


async def _agent_keys(orch: OrchestrationStateManager, agent_id: str) -> int:
    base = orch.keys.team(TEAM).base
    return int(await orch.backend.client.exists(f"{base}:agent:{agent_id}", f"{base}:held:{agent_id}"))


async def _ids(orch: OrchestrationStateManager) -> list[str]:
    return [a.agent_id for a in await orch.get_agents(TEAM)]


async def test_remove_agent_drops_it_and_its_indexes(orch: OrchestrationStateManager) -> None:
    await orch.register_agent(TEAM, AgentCoordinationState(agent_id="w1", capabilities=["code"]))
    await orch.register_agent(TEAM, AgentCoordinationState(agent_id="w2", capabilities=["code"]))
    await orch.enqueue_task(TEAM, {"id": "t1", "type": "code"})
    task = await orch.claim_task(TEAM, "w1", lease=30)
    assert task is not None
    await orch.complete_task(TEAM, task.id, {"ok": True}, token=task.token)  # w1 held a task once

    assert await orch.remove_agent(TEAM, "w1") is True
    assert await _ids(orch) == ["w2"]
    assert [a.agent_id for a in await orch.get_available_agents(TEAM, capability="code")] == ["w2"]
    assert "w1" not in (await orch.get_team(TEAM)).agents
    assert await _agent_keys(orch, "w1") == 0
    with pytest.raises(NotFoundError):
        await orch.update_agent_status(TEAM, "w1", "idle")
    assert await orch.remove_agent(TEAM, "w1") is False  # already gone: harmless
    assert await orch.remove_agent(TEAM, "never-seen") is False
    assert (await orch.get_task(TEAM, "t1")).completed_by == "w1"  # history is not touched


async def test_remove_agent_of_a_missing_team_is_not_found(backend: Backend) -> None:
    orch = OrchestrationStateManager(backend=backend)
    with pytest.raises(NotFoundError):
        await orch.remove_agent("no_such_team", "w1")


async def test_remove_agent_is_refused_while_it_holds_a_task(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": "t1"}, {"id": "t2"}])
    task = await orch.claim_task(TEAM, "w1", lease=30)
    assert task is not None
    with pytest.raises(InvalidTransitionError) as info:
        await orch.remove_agent(TEAM, "w1")
    assert "w1" in str(info.value) and "t1" in str(info.value)
    assert info.value.task == "t1" and info.value.id == "w1"
    assert await _ids(orch) == ["w1"]

    await orch.register_agent(TEAM, AgentCoordinationState(agent_id="w2"))
    await orch.assign_task(TEAM, "t2", "w2")  # assigned without a lease: held too
    with pytest.raises(InvalidTransitionError, match="t2"):
        await orch.remove_agent(TEAM, "w2")

    await orch.complete_task(TEAM, task.id, None, token=task.token)
    await orch.release_task(TEAM, "t2")
    assert await orch.remove_agent(TEAM, "w1") is True
    assert await orch.remove_agent(TEAM, "w2") is True
    assert await _ids(orch) == []


async def test_prune_removes_only_silent_agents_without_tasks(orch: OrchestrationStateManager) -> None:
    await orch.register_agent(TEAM, AgentCoordinationState(agent_id="registered"))
    await orch.heartbeat(TEAM, "beat-once")
    await orch.enqueue_task(TEAM, {"id": "t1"})
    held = await orch.claim_task(TEAM, "holder", lease=60)
    assert held is not None
    await asyncio.sleep(0.4)
    await orch.heartbeat(TEAM, "fresh")
    await orch.update_agent_status(TEAM, "registered", "idle")  # an update counts as a sign of life

    assert await orch.prune_agents(TEAM, 0.3) == ["beat-once"]
    assert await _ids(orch) == ["fresh", "holder", "registered"]
    assert await _agent_keys(orch, "beat-once") == 0

    await asyncio.sleep(0.4)
    assert await orch.prune_agents(TEAM, 0.3) == ["fresh", "registered"]  # holder keeps its task
    assert await _ids(orch) == ["holder"]
    assert await orch.prune_agents(TEAM, 3600) == []


async def test_prune_works_through_many_agents_in_bounded_calls(
    orch: OrchestrationStateManager, monkeypatch: Any
) -> None:
    n = 1200
    await orch.create_team(
        TeamState(team_id="big", agents={f"pod-{i}": AgentCoordinationState(agent_id=f"pod-{i}") for i in range(n)})
    )
    await asyncio.sleep(0.15)
    calls: list[int] = []
    run = orch.backend.run

    async def counting(script: str, keys: Any, args: Any) -> Any:
        out = await run(script, keys, args)
        if script == "orchestration/prune_agents":
            calls.append(len(orch._parse_prune(out)[0]))
        return out

    monkeypatch.setattr(orch.backend, "run", counting)
    removed = await orch.prune_agents("big", 0.1)
    assert sorted(removed) == sorted(f"pod-{i}" for i in range(n))
    assert len(calls) >= math.ceil(n / 600) and max(calls) <= 600  # ~500 examined per script call
    assert (await orch.get_agents("big")) == []


async def test_events_are_published(orch: OrchestrationStateManager) -> None:
    seen: list[Any] = []
    await orch.subscribe_events(TEAM, seen.append)
    await orch.heartbeat(TEAM, "a")
    await orch.heartbeat(TEAM, "b")
    assert await orch.remove_agent(TEAM, "a") is True
    await asyncio.sleep(0.25)
    assert await orch.prune_agents(TEAM, 0.1) == ["b"]
    await eventually(lambda: {"agent_removed", "agents_pruned"} <= {e.op for e in seen}, what="both events")
    removed = next(e for e in seen if e.op == "agent_removed")
    assert removed.data["agent"] == "a" and removed.data["key"] == TEAM and removed.version > 0
    pruned = next(e for e in seen if e.op == "agents_pruned")
    assert pruned.data["agents"] == ["b"] and pruned.version > removed.version


async def test_a_replayed_op_id_applies_once(orch: OrchestrationStateManager, monkeypatch: Any) -> None:
    await orch.heartbeat(TEAM, "a")
    monkeypatch.setattr(orch, "_op_id", lambda: "op-remove-1")
    assert await orch.remove_agent(TEAM, "a") is True
    await orch.heartbeat(TEAM, "a")  # back (heartbeats carry no op id)
    assert await orch.remove_agent(TEAM, "a") is True  # replayed: the first reply, no removal
    assert await _ids(orch) == ["a"]

    await orch.heartbeat(TEAM, "b")
    await asyncio.sleep(0.25)
    monkeypatch.setattr(orch, "_op_id", lambda: "op-prune-1")
    first = await orch.prune_agents(TEAM, 0.1)
    assert sorted(first) == ["a", "b"]
    await orch.heartbeat(TEAM, "a")
    await asyncio.sleep(0.25)
    assert sorted(await orch.prune_agents(TEAM, 0.1)) == ["a", "b"]  # replayed: same ids, nothing removed
    assert await _ids(orch) == ["a"]


async def test_reap_applies_auto_prune_after(backend: Backend) -> None:
    orch = OrchestrationStateManager(backend=backend, auto_prune_after=0.2)
    await orch.create_team(TEAM)
    await orch.heartbeat(TEAM, "gone")
    await asyncio.sleep(0.3)
    await orch.heartbeat(TEAM, "alive")
    assert await orch.reap(TEAM) == {"stalled": 0, "promoted": 0, "pruned": 1}
    assert await _ids(orch) == ["alive"]
    plain = OrchestrationStateManager(backend=backend)
    assert plain.auto_prune_after is None
    assert await plain.reap(TEAM) == {"stalled": 0, "promoted": 0}


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "5", True, None, 1e300])
async def test_bad_offline_for_is_refused(orch: OrchestrationStateManager, bad: Any) -> None:
    with pytest.raises(InvalidInputError, match="offline_for"):
        await orch.prune_agents(TEAM, bad)


@pytest.mark.parametrize("bad", [-1, float("nan"), "5", True])
async def test_bad_auto_prune_after_is_refused(backend: Backend, bad: Any) -> None:
    with pytest.raises(InvalidInputError, match="auto_prune_after"):
        OrchestrationStateManager(backend=backend, auto_prune_after=bad)


async def test_bad_ids_are_refused(orch: OrchestrationStateManager) -> None:
    for bad in ("", "x" * 1025, 5, None):
        with pytest.raises(InvalidInputError):
            await orch.remove_agent(TEAM, bad)
        with pytest.raises(InvalidInputError):
            await orch.remove_agent(bad, "w1")

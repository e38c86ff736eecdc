"""Flows across processes on a real Redis: 8 workers on a 3-level graph of 200 tasks."""

from __future__ import annotations

import asyncio
import random

from agentstate_redis import RedisBackend

from ..procs import run_processes
from ..workers_flows import flow_worker
from .fleet import fleet_team

TEAM = "flow_fleet"


def three_levels(rng: random.Random) -> list[dict]:
    """120 researchers, 60 analysts on 2 researchers each, 20 writers on 3 analysts each."""
    research = [{"id": f"r{i}", "type": "research"} for i in range(120)]
    analysis = [
        {"id": f"a{i}", "type": "analysis", "depends_on": rng.sample([t["id"] for t in research], 2)} for i in range(60)
    ]
    writing = [
        {"id": f"w{i}", "type": "write", "depends_on": rng.sample([t["id"] for t in analysis], 3)} for i in range(20)
    ]
    tasks = research + analysis + writing
    rng.shuffle(tasks)  # enqueue_flow sends them dependencies first
    return tasks


async def test_eight_workers_finish_a_200_task_graph_each_task_once_never_before_its_dependencies(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    orch = await fleet_team(redis_backend, TEAM, completed_retention=10_000)
    tasks = three_levels(random.Random(7))
    assert len(await orch.enqueue_flow(TEAM, tasks)) == 200
    assert (await orch.get_queue_status(TEAM, page_size=0)).waiting_count == 80

    runs = await asyncio.to_thread(
        run_processes, flow_worker, [(redis_url, prefix, TEAM, f"w{i}") for i in range(8)], 180
    )
    claims = [r for run in runs for r in run]
    assert sorted(r["id"] for r in claims) == sorted(t["id"] for t in tasks)  # each claimed exactly once
    assert len({r["by"] for r in claims}) > 1
    counters = await orch.get_team_counters(TEAM)
    assert counters.completed_total == 200 and counters.dead_total == 0
    for task in tasks:
        stored = await orch.get_task(TEAM, task["id"])
        assert stored.status == "completed"
        claim = next(r for r in claims if r["id"] == task["id"])
        deps = task.get("depends_on", [])
        # no claim before every dependency completed, by the server's clock
        for dep in deps:
            assert claim["claimed_at"] >= (await orch.get_task(TEAM, dep)).finished_at, (task["id"], dep)
        assert claim["inputs"] == {d: {"by": (await orch.get_task(TEAM, d)).completed_by, "id": d} for d in deps}


async def test_a_dead_dependency_fails_dependents_under_fail_and_not_under_ignore(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    orch = await fleet_team(redis_backend, TEAM, completed_retention=10_000)
    flow = [{"id": f"ok{i}"} for i in range(10)] + [{"id": "doomed", "data": {"die": True}}]
    flow += [{"id": f"strict{i}", "depends_on": ["doomed", f"ok{i}"]} for i in range(5)]
    flow += [
        {"id": f"lenient{i}", "depends_on": ["doomed", f"ok{i}"], "on_dependency_failure": "ignore"} for i in range(5)
    ]
    flow += [{"id": "after-strict", "depends_on": [f"strict{i}" for i in range(5)]}]
    await orch.enqueue_flow(TEAM, flow)
    runs = await asyncio.to_thread(
        run_processes, flow_worker, [(redis_url, prefix, TEAM, f"w{i}") for i in range(4)], 120
    )
    claimed = sorted(r["id"] for run in runs for r in run)
    assert claimed == sorted(["doomed", *(f"ok{i}" for i in range(10)), *(f"lenient{i}" for i in range(5))])
    for i in range(5):
        strict = await orch.get_task(TEAM, f"strict{i}")
        assert strict.status == "dead" and strict.last_error == "dependency doomed ended dead"
        lenient = await orch.get_task(TEAM, f"lenient{i}")
        assert lenient.status == "completed" and set(lenient.dependency_results) == {f"ok{i}"}
    assert (await orch.get_task(TEAM, "after-strict")).last_error.startswith("dependency strict")

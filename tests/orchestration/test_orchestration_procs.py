"""Multi-process guarantees of the team task queue, on a real Redis."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

from agentstate_redis import AgentCoordinationState, OrchestrationStateManager, RedisBackend, TeamState

from ..procs import run_processes, start_process
from ..workers_orchestration import chaos_worker, claim_all, flip_statuses

TEAM = "fleet"


async def test_no_task_is_claimed_twice_and_events_cross_processes(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    orch = OrchestrationStateManager(backend=redis_backend)
    await orch.create_team(TEAM)
    await orch.enqueue_tasks(TEAM, [{"id": f"t{i}", "priority": i % 3} for i in range(2000)])
    claims_seen: list[str] = []
    await orch.subscribe_events(TEAM, lambda e: claims_seen.append(e.data["task"]) if e.op == "claim" else None)
    results = await asyncio.to_thread(run_processes, claim_all, [(redis_url, prefix, TEAM, f"w{i}") for i in range(4)])
    claimed = [tid for worker in results for tid, _ in worker]
    assert len(claimed) == 2000 and len(set(claimed)) == 2000
    tokens = [tok for worker in results for _, tok in worker]
    assert len(set(tokens)) == 2000
    for _ in range(100):
        if len(claims_seen) >= 2000:
            break
        await asyncio.sleep(0.05)
    assert sorted(claims_seen) == sorted(claimed)
    status = await orch.get_queue_status(TEAM)
    assert status.completed_total == 2000 and status.pending_count == status.in_progress_count == 0


async def test_available_agents_under_concurrent_status_updates(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    orch = OrchestrationStateManager(backend=redis_backend)
    agents = {
        f"p{i}-a{j}": AgentCoordinationState(agent_id=f"p{i}-a{j}", capabilities=["research"])
        for i in range(4)
        for j in range(8)
    }
    await orch.create_team(TeamState(team_id=TEAM, agents=agents))
    stop = False
    checks = 0

    async def watch() -> None:
        nonlocal checks
        while not stop:
            for agent in await orch.get_available_agents(TEAM, capability="research"):
                assert agent.status == "idle" and "research" in agent.capabilities, agent
            checks += 1

    watcher = asyncio.ensure_future(watch())
    results = await asyncio.to_thread(
        run_processes, flip_statuses, [(redis_url, prefix, TEAM, i, 300) for i in range(4)]
    )
    stop = True
    await watcher
    final = {agent: state for worker in results for agent, state in worker.items()}
    expected = sorted(a for a, (status, caps) in final.items() if status == "idle" and "research" in caps)
    expected += sorted(a for a in agents if a not in final)  # never touched: still idle researchers
    got = [a.agent_id for a in await orch.get_available_agents(TEAM, capability="research")]
    assert got == sorted(expected) and checks > 0
    team = await orch.get_team(TEAM)
    for agent, (status, caps) in final.items():
        assert (team.agents[agent].status, team.agents[agent].capabilities) == (status, caps)


async def test_sigkilled_workers_lose_nothing_and_complete_each_task_once(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    n_tasks, n_workers = 5000, 8
    orch = OrchestrationStateManager(backend=redis_backend, completed_retention=10_000)
    await orch.create_team(TEAM)

    def mode(i: int) -> str:
        return (
            "always_fail" if i % 500 == 7 else "fail_once" if i % 100 == 3 else "slow_first" if i % 250 == 11 else "ok"
        )

    modes = {f"t{i}": mode(i) for i in range(n_tasks)}
    await orch.enqueue_tasks(TEAM, [{"id": tid, "data": {"mode": mode}} for tid, mode in modes.items()])
    records_key = prefix + "accepted"
    args = lambda i: (redis_url, prefix, TEAM, f"w{i}", records_key)  # noqa: E731
    procs = [start_process(chaos_worker, *args(i)) for i in range(n_workers)]
    rng = random.Random(5)
    kills = 0
    started = time.monotonic()
    try:
        while time.monotonic() - started < 150:
            await asyncio.sleep(0.4 + rng.random() * 0.8)
            status = await orch.get_queue_status(TEAM, page_size=0)
            if status.pending_count + status.in_progress_count + status.scheduled_count == 0:
                break
            if status.pending_count > 300:  # keep killing while there is work to interrupt
                i = rng.randrange(n_workers)
                procs[i].kill()  # SIGKILL
                procs[i].join(5)
                procs[i] = start_process(chaos_worker, *args(i))
                kills += 1
        for p in procs:
            p.join(60)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
    wall = time.monotonic() - started
    print(f"\nchaos: {n_tasks} tasks, {n_workers} workers, {kills} SIGKILLs, {wall:.1f}s wall")

    status = await orch.get_queue_status(TEAM, page_size=0)
    n_dead = sum(m == "always_fail" for m in modes.values())
    assert (status.pending_count, status.in_progress_count, status.scheduled_count) == (0, 0, 0)
    assert status.dead_count == n_dead and status.completed_total == status.completed_count == n_tasks - n_dead
    completed = {t.id: t for t in await orch.list_tasks(TEAM, "completed", limit=n_tasks)}
    dead = {t.id: t for t in await orch.list_dead(TEAM, limit=n_tasks)}
    assert set(dead) == {tid for tid, m in modes.items() if m == "always_fail"}
    assert all(t.failures == 3 and len(t.errors) == 3 for t in dead.values())
    assert set(completed) == {tid for tid, m in modes.items() if m != "always_fail"}
    assert all(completed[tid].failures == 1 for tid, m in modes.items() if m == "fail_once")

    # every accepted completion is the one stored: same token, never two for one task
    records = [r.split("|") for r in await redis_backend.client.lrange(records_key, 0, -1)]
    per_task = Counter(tid for tid, _ in records)
    assert max(per_task.values()) == 1
    assert all(int(tok) == completed[tid].token for tid, tok in records)
    assert len(records) >= len(completed) - kills  # a kill may land between accept and record
    refused = [r.split("|") for r in await redis_backend.client.lrange(records_key + ":refused", 0, -1)]
    assert all(int(tok) != completed[tid].token for tid, tok in refused if tid in completed)
    stalls = sum(t.stalls for t in completed.values()) + sum(t.stalls for t in dead.values())
    print(
        f"chaos: {stalls} stalled leases handed back, {len(records)} completions recorded, "
        f"{len(refused)} late completions refused"
    )
    assert kills >= 3 and stalls >= 1 and refused

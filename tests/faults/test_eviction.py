"""Eviction: a server whose maxmemory-policy may delete keys is reported at connect (warned about by
default, refused with ``eviction="refuse"``) and by ``agentstate health``; and fencing tokens stay
monotonic when an entity's keys are lost and re-created (deleted, or evicted), so a stale holder
is refused instead of colliding with a token issued again from 1."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from agentstate_redis import (
    AgentSnapshot,
    AgentStateStore,
    EmbeddedRedis,
    EvictionPolicyError,
    InvalidInputError,
    LeaseError,
    OrchestrationStateManager,
    RedisBackend,
    StateConfig,
    StateManager,
    StepState,
    WorkflowState,
    WorkflowStateManager,
)
from agentstate_redis.backends.base import Backend
from agentstate_redis.keys import EntityKeys, escape_glob

LRU = ["--maxmemory", "20mb", "--maxmemory-policy", "allkeys-lru"]


@pytest.fixture(scope="module")
def lru_server() -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(extra_args=LRU) as server:
        yield server


@pytest.fixture
async def lru_backend(lru_server: EmbeddedRedis, prefix: str) -> AsyncIterator[RedisBackend]:
    b = RedisBackend(lru_server.url, key_prefix=prefix, eviction="ignore")
    await b.connect()
    yield b
    await b.close()


# -- the policy at connect ------------------------------------------------------------------------


async def test_an_evicting_policy_is_warned_about_at_connect(
    lru_server: EmbeddedRedis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The default (warn): connecting to an allkeys-lru server logs a warning and raises a RuntimeWarning that
    name the policy and the fix, and the backend works; nothing is said about a noeviction server."""
    backend = RedisBackend(lru_server.url, key_prefix=prefix)
    with pytest.warns(RuntimeWarning, match="maxmemory-policy allkeys-lru"):
        await backend.connect()
    try:
        assert backend.maxmemory_policy == "allkeys-lru"
        assert any("allkeys-lru" in r.getMessage() and "noeviction" in r.getMessage() for r in caplog.records)
        await StateManager(backend=backend).save("k", {"a": 1})
    finally:
        await backend.close()


async def test_no_warning_on_noeviction(redis_url: str, prefix: str) -> None:
    backend = RedisBackend(redis_url, key_prefix=prefix)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await backend.connect()
    assert backend.maxmemory_policy == "noeviction"
    await backend.close()


async def test_refuse_raises_at_connect_for_every_way_of_configuring(lru_server: EmbeddedRedis, prefix: str) -> None:
    """eviction='refuse' (backend argument, StateConfig field, or a manager's keyword) raises EvictionPolicyError
    naming the policy before anything runs; a bad value is InvalidInputError."""
    with pytest.raises(EvictionPolicyError, match="allkeys-lru") as refused:
        await RedisBackend(lru_server.url, key_prefix=prefix, eviction="refuse").connect()
    assert refused.value.policy == "allkeys-lru"
    config = StateConfig(backend="redis", redis_url=lru_server.url, key_prefix=prefix, eviction="refuse")
    for manager in (
        StateManager(config=config),
        OrchestrationStateManager(persistence="redis", redis_url=lru_server.url, key_prefix=prefix, eviction="refuse"),
    ):
        with pytest.raises(EvictionPolicyError):
            await manager.connect()
        await manager.close()
    assert [k for k in redis.Redis.from_url(lru_server.url).scan_iter(match=f"{prefix}*")] == []
    with pytest.raises(InvalidInputError, match="eviction"):
        RedisBackend(lru_server.url, eviction="sometimes")
    with pytest.raises(InvalidInputError, match="eviction"):
        StateConfig(backend="redis", eviction="sometimes")


async def test_the_policy_is_read_from_info_when_config_is_refused(prefix: str) -> None:
    """Managed services disable CONFIG: the policy then comes from INFO memory, and is still warned about."""
    with EmbeddedRedis(extra_args=[*LRU, "--rename-command", "CONFIG", ""]) as server:
        backend = RedisBackend(server.url, key_prefix=prefix)
        with pytest.warns(RuntimeWarning, match="allkeys-lru"):
            await backend.connect()
        assert backend.maxmemory_policy == "allkeys-lru"
        await backend.close()


def test_health_fails_on_an_evicting_policy_unless_allowed(lru_server: EmbeddedRedis) -> None:
    """`agentstate health` exits 1 with one line naming the policy; --allow-eviction accepts it."""

    def health(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agentstate_redis.cli", "health", "--redis-url", lru_server.url, *extra],
            capture_output=True,
            text=True,
            timeout=60,
        )

    refused = health()
    assert refused.returncode == 1 and refused.stdout.startswith("unhealthy: ")
    assert "allkeys-lru" in refused.stdout and "--allow-eviction" in refused.stdout
    assert len(refused.stdout.strip().splitlines()) == 1
    allowed = health("--allow-eviction")
    assert allowed.returncode == 0 and "maxmemory-policy allkeys-lru" in allowed.stdout


# -- fencing across key loss -------------------------------------------------------------------------


async def forget(backend: Backend, entity: EntityKeys) -> int:
    """Delete every key of one entity (its base key and every sub-key), as a lost shard would."""
    keys = [k async for k in backend.scan(escape_glob(entity.base) + "*")]
    if keys:
        await backend.client.delete(*keys)
    return len(keys)


async def test_task_tokens_stay_monotonic_when_the_team_is_deleted_and_recreated(backend: Backend) -> None:
    """A holder has a task with token T; every key of the team goes; the team is re-created and the task
    re-enqueued. The new claim's token is greater than T, the old holder's completion with T is refused
    (LeaseError), and the new holder's is the one accepted. With a counter restarting at 1 the new token
    was T again and the stale completion was accepted while another worker held the task."""
    orch = OrchestrationStateManager(backend=backend)
    await orch.create_team("t")
    await orch.enqueue_task("t", {"id": "job"})
    old = await orch.claim_task("t", "old-worker", lease=60)
    assert old is not None
    assert await forget(backend, backend.keys.team("t")) > 0
    await orch.create_team("t")
    await orch.enqueue_task("t", {"id": "job"})
    new = await orch.claim_task("t", "new-worker", lease=60)
    assert new is not None and new.id == "job" and new.token > old.token
    with pytest.raises(LeaseError, match="stale fencing token"):
        await orch.complete_task("t", "job", {"by": "old"}, token=old.token)
    done = await orch.complete_task("t", "job", {"by": "new"}, token=new.token)
    assert done.result == {"by": "new"} and done.completed_by == "new-worker"


async def test_agent_and_workflow_lease_tokens_stay_monotonic_across_key_loss(backend: Backend) -> None:
    """The same for the ownership leases of agents and workflows: after every key of the entity is lost,
    the next holder's token is greater, and the old holder's writes and release are refused."""
    store = AgentStateStore(backend=backend)
    old = await store.acquire_lease("a", "old-owner", ttl=60)
    await store.save_snapshot(AgentSnapshot(agent_id="a", memory_state={"n": 1}), fencing_token=old)
    assert await forget(backend, backend.keys.agent("a")) > 0
    new = await store.acquire_lease("a", "new-owner", ttl=60)
    assert new > old
    with pytest.raises(LeaseError):
        await store.save_snapshot(AgentSnapshot(agent_id="a", memory_state={"n": 2}), fencing_token=old)
    with pytest.raises(LeaseError):
        await store.release_lease("a", old)
    await store.save_snapshot(AgentSnapshot(agent_id="a", memory_state={"n": 3}), fencing_token=new)

    flows = WorkflowStateManager(backend=backend)
    await flows.create(WorkflowState(workflow_id="w", total_steps=3))
    a = await flows.acquire_lease("w", "driver-a", ttl=60)
    assert await forget(backend, backend.keys.workflow("w")) > 0
    await flows.create(WorkflowState(workflow_id="w", total_steps=3))
    b = await flows.acquire_lease("w", "driver-b", ttl=60)
    assert b > a
    step = StepState(step_number=1, name="s1", status="completed")
    with pytest.raises(LeaseError):
        await flows.update_step("w", step, fencing_token=a)
    assert (await flows.update_step("w", step, fencing_token=b)).current_step == 1


async def test_task_tokens_stay_monotonic_when_the_team_is_evicted(
    lru_backend: RedisBackend, lru_server: EmbeddedRedis
) -> None:
    """The finding itself: under allkeys-lru with a small maxmemory, filler evicts the team (its fencing
    counter and every other key) while a worker holds a task; the team is re-created and the task
    re-enqueued; the new claim's token is greater, and the old holder's completion is refused."""
    orch = OrchestrationStateManager(backend=lru_backend)
    await orch.create_team("t")
    await orch.enqueue_task("t", {"id": "job"})
    old = await orch.claim_task("t", "old-worker", lease=60)
    assert old is not None
    team_keys = escape_glob(lru_backend.keys.team("t").base) + "*"
    raw = redis.Redis.from_url(lru_server.url)
    written = 0
    try:
        while written % 10 or next(raw.scan_iter(match=team_keys, count=1000), None) is not None:
            raw.set(f"filler:{written}", b"x" * 100_000)  # until every key of the team was evicted
            written += 1
            assert written < 10_000, "the team was never evicted"
        raw.delete(*[f"filler:{i}" for i in range(written)])  # stop the pressure before re-creating
        await orch.create_team("t")
        await orch.enqueue_task("t", {"id": "job"})
        new = await orch.claim_task("t", "new-worker", lease=60)
        assert new is not None and new.token > old.token
        with pytest.raises(LeaseError):
            await orch.complete_task("t", "job", {"by": "old"}, token=old.token)
        assert (await orch.complete_task("t", "job", {"by": "new"}, token=new.token)).completed_by == "new-worker"
    finally:
        raw.close()

"""The team task queue's retention: trimmed or purged task ids are not run again (tombstones),
same-millisecond trims keep the newest task, op-id replies are unambiguous, and nothing
(dead letters, wake lists, op ids of heartbeats) grows without a bound."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from agentstate_redis import NotFoundError, OrchestrationStateManager
from agentstate_redis.backends.base import Backend
from agentstate_redis.backends.redis import RedisBackend

TEAM = "retention_team"


async def team(backend: Backend, **options: Any) -> OrchestrationStateManager:
    orch = OrchestrationStateManager(backend=backend, **options)
    await orch.create_team(TEAM)
    return orch


async def run_one(orch: OrchestrationStateManager, task_id: str, result: Any = "ok") -> None:
    await orch.enqueue_task(TEAM, {"id": task_id})
    task = await orch.claim_task(TEAM, "w")
    assert task is not None and task.id == task_id
    await orch.complete_task(TEAM, task_id, result, token=task.token)


async def test_a_trimmed_completed_task_is_not_enqueued_again(backend: Backend) -> None:
    orch = await team(backend, completed_retention=1)
    await run_one(orch, "t1")
    await run_one(orch, "t2")  # trims t1 from the completed history
    with pytest.raises(NotFoundError):
        await orch.get_task(TEAM, "t1")
    assert await orch.enqueue_tasks(TEAM, [{"id": "t1"}, {"id": "t3"}]) == ["t3"]  # t1 is not new
    assert await orch.enqueue_task(TEAM, {"id": "t1"}) == "t1"
    status = await orch.get_queue_status(TEAM)
    assert status.pending_count == 1 and [t.id for t in status.pending] == ["t3"]


async def test_a_purged_dead_task_is_not_enqueued_again_and_retry_dead_still_works(backend: Backend) -> None:
    orch = await team(backend)
    await orch.enqueue_tasks(TEAM, [{"id": "a"}, {"id": "b"}])
    for _ in range(2):
        task = await orch.claim_task(TEAM, "w")
        assert task is not None
        await orch.fail_task(TEAM, task.id, "boom", retry=False, token=task.token)
    assert await orch.purge_dead(TEAM, ["a"]) == ["a"]
    assert await orch.enqueue_tasks(TEAM, [{"id": "a"}, {"id": "b"}]) == []
    assert (await orch.get_queue_status(TEAM)).pending_count == 0
    assert await orch.retry_dead(TEAM, ["a", "b"]) == ["b"]  # b exists (dead): back to pending
    assert (await orch.get_task(TEAM, "b")).status == "pending"


async def test_the_dedupe_window_ends(backend: Backend) -> None:
    orch = await team(backend, completed_retention=1, enqueue_dedupe_window=0.05)
    await run_one(orch, "t1")
    await run_one(orch, "t2")
    await asyncio.sleep(0.2)
    assert await orch.enqueue_tasks(TEAM, [{"id": "t1"}]) == ["t1"]  # older than the window: new again


async def test_completions_in_one_millisecond_never_trim_the_task_just_completed(redis_backend: RedisBackend) -> None:
    orch = await team(redis_backend, completed_retention=1)
    n = 300
    ids = [f"t{n - i:04d}" for i in range(n)]  # each later id sorts first by name
    await orch.enqueue_tasks(TEAM, [{"id": i} for i in ids])
    tasks = [await orch.claim_task(TEAM, f"w{i}") for i in range(n)]
    done = await asyncio.gather(
        *(orch.complete_task(TEAM, t.id, {"n": t.id}, token=t.token) for t in tasks if t is not None)
    )
    lost = [t.id for t in done if t.result != {"n": t.id}]
    assert lost == [], f"{len(lost)}/{n} completions deleted the task they completed"
    status = await orch.get_queue_status(TEAM)
    assert status.completed_count == 1 and status.completed_total == n


async def test_a_replayed_op_id_returns_the_task_even_when_its_id_has_a_newline(backend: Backend) -> None:
    orch = await team(backend)
    k = orch.keys.team(TEAM)
    keys = [k.base, k.ops, k.ops_prev]
    task_id = "x\n7"  # looks like '@x' + token 7 to a loose parser
    await orch.backend.run(
        "orchestration/enqueue",
        keys,
        ["op-e", "", TEAM, 86_400_000, "", "", task_id, "", "", 50, 3, '{"data":1,"extra":{}}'],
    )
    claimed = await orch.claim_task(TEAM, "w")
    assert claimed is not None and claimed.id == task_id
    args = ["op-c", "", TEAM, task_id, '"ok"', "", claimed.token, 100, 86_400_000]
    first = orjson.loads(await orch.backend.run("orchestration/complete", keys, args))
    again = orjson.loads(await orch.backend.run("orchestration/complete", keys, args))
    assert again == first
    flat = again["task"]
    assert dict(zip(flat[::2], flat[1::2]))["id"] == task_id


async def test_dead_letters_are_capped_and_tombstoned(backend: Backend) -> None:
    orch = await team(backend, dead_retention=2)
    await orch.enqueue_tasks(TEAM, [{"id": f"d{i}"} for i in range(3)])
    for _ in range(3):
        task = await orch.claim_task(TEAM, "w")
        assert task is not None
        await orch.fail_task(TEAM, task.id, "boom", retry=False, token=task.token)
    assert [t.id for t in await orch.list_dead(TEAM)] == ["d2", "d1"]
    with pytest.raises(NotFoundError):
        await orch.get_task(TEAM, "d0")
    assert await orch.enqueue_tasks(TEAM, [{"id": "d0"}]) == []


async def test_deaths_in_one_millisecond_keep_the_newest(redis_backend: RedisBackend) -> None:
    orch = await team(redis_backend, dead_retention=1)
    n = 100
    ids = [f"d{n - i:04d}" for i in range(n)]
    await orch.enqueue_tasks(TEAM, [{"id": i} for i in ids])
    tasks = [await orch.claim_task(TEAM, f"w{i}") for i in range(n)]
    dead = await asyncio.gather(
        *(orch.fail_task(TEAM, t.id, "boom", retry=False, token=t.token) for t in tasks if t is not None)
    )
    lost = [t.id for t in dead if t.errors != ["boom"]]
    assert lost == [], f"{len(lost)}/{n} fails deleted the task they dead-lettered"
    assert (await orch.get_queue_status(TEAM)).dead_count == 1


async def test_wake_lists_are_capped_and_expire(redis_backend: RedisBackend) -> None:
    orch = await team(redis_backend)
    await orch.enqueue_tasks(TEAM, [{"id": f"t{i}", "type": "code"} for i in range(600)])
    client = redis_backend.client
    for name in ("wake:code", "wake-any"):
        key = orch.keys.team(TEAM)(name)
        assert 0 < await client.llen(key) <= 256
        assert await client.pttl(key) > 0, f"{name} never expires"


async def test_heartbeats_do_not_use_op_id_memory(backend: Backend) -> None:
    orch = await team(backend)
    await orch.enqueue_task(TEAM, {"id": "t"})
    assert await orch.claim_task(TEAM, "w") is not None
    k = orch.keys.team(TEAM)
    before = await orch.backend.client.hlen(k.ops)
    for _ in range(5):
        assert list(await orch.heartbeat(TEAM, "w")) == ["t"]
    assert await orch.backend.client.hlen(k.ops) == before

"""Tasks stored by the previous release (an ``id`` field, zero counters, empty holder and token, an empty
payload document) keep working with the leaner hash new tasks get: same replies, same transitions."""

from __future__ import annotations

from typing import Any

from agentstate_redis import OrchestrationStateManager

TEAM = "upgrade_team"
#: The fields enqueue wrote before a pending task's hash was trimmed to what it needs.
OLD_FIELDS = {
    "attempts": 0,
    "failures": 0,
    "stalls": 0,
    "agent": "",
    "token": "",
    "payload": '{"data":null,"extra":{}}',
}


async def _as_old_release(orch: OrchestrationStateManager, task_id: str) -> None:
    key = orch.keys.team(TEAM)(f"task:{task_id}")
    client = orch.backend.client
    assert not await client.hexists(key, "attempts") and not await client.hexists(key, "id")  # the lean layout
    await client.hset(key, mapping={"id": task_id, **OLD_FIELDS})


def _view(task: Any) -> dict[str, Any]:
    return task.model_dump(exclude={"enqueued_at", "started_at", "finished_at", "lease_until", "token"})


async def test_an_old_release_task_reads_and_moves_as_a_new_one(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": "old", "type": "x"}, {"id": "new", "type": "x"}])
    await _as_old_release(orch, "old")
    old, new = await orch.get_task(TEAM, "old"), await orch.get_task(TEAM, "new")
    assert _view(old) == {**_view(new), "id": "old"}
    assert old.attempts == 0 and old.agent_id is None and old.token is None and old.data is None

    for task_id in ("old", "new"):
        claimed = await orch.claim_task(TEAM, "w", ["x"])
        assert claimed is not None and claimed.id == task_id and claimed.attempts == 1 and claimed.agent_id == "w"
        failed = await orch.fail_task(TEAM, task_id, "boom", token=claimed.token)
        assert failed.status == "retry" and failed.failures == 1 and failed.errors == ["boom"]


async def test_an_old_release_task_completes_with_its_token(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "old", "type": "x", "data": {"n": 1}})
    await _as_old_release(orch, "old")
    await orch.backend.client.hset(orch.keys.team(TEAM)("task:old"), "payload", '{"data":{"n":1},"extra":{}}')
    claimed = await orch.claim_task(TEAM, "w", ["x"])
    assert claimed is not None and claimed.data == {"n": 1} and claimed.token is not None
    done = await orch.complete_task(TEAM, "old", {"ok": True}, token=claimed.token)
    assert done.status == "completed" and done.result == {"ok": True} and done.completed_by == "w"
    assert (await orch.list_tasks(TEAM, "completed"))[0].id == "old"

"""What a fleet of ``workers_reliability.fleet_worker`` processes must have left after a fault.

await assert_each_task_completed_once(orch, TEAM, ids, results)
await assert_no_acknowledged_write_lost(state, "counter", results)
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from agentstate_redis import OrchestrationStateManager, StateManager


async def assert_each_task_completed_once(
    orch: OrchestrationStateManager, team: str, ids: list[str], results: list[dict[str, Any]]
) -> None:
    """Every task of ``ids`` completed exactly once, and the stored completion is the one a worker was told about."""
    accepted = [(tid, tok) for r in results for tid, tok in r["accepted"]]
    assert max(Counter(tid for tid, _ in accepted).values()) == 1
    missing = sorted(set(ids) - {tid for tid, _ in accepted})
    details = [(await orch.get_task(team, tid)).model_dump() for tid in missing[:3]]
    refused = [x for r in results for x in r["refused"]]
    assert not missing, f"{len(missing)} tasks without an accepted completion, e.g. {details}; refused {refused}"
    assert {tid for tid, _ in accepted} == set(ids)
    status = await orch.get_queue_status(team, page_size=0)
    assert status.completed_total == status.completed_count == len(ids)
    assert (status.pending_count, status.in_progress_count, status.scheduled_count, status.dead_count) == (0,) * 4
    stored = {t.id: t.token for t in await orch.list_tasks(team, "completed", limit=len(ids))}
    assert stored == dict(accepted)


async def assert_no_acknowledged_write_lost(state: StateManager, counter: str, results: list[dict[str, Any]]) -> int:
    """No acknowledged core-state write lost, none applied twice: the shared ``counter`` holds every increment
    the workers were told of (one version each), each worker's own key its last seq. Returns the increments."""
    increments = sum(r["increments"] for r in results)
    entry = await state.get_entry(counter)
    assert entry is not None and entry.value["n"] == increments and entry.version == increments + 1
    for r in results:
        own = await state.get(r["own_key"])
        assert own is not None and own["seq"] == r["seq"]
    return increments

"""get_team_counters: the team's completed and dead totals, counted by the queue's scripts."""

from __future__ import annotations

import pytest

from agentstate_redis import OrchestrationStateManager
from agentstate_redis.backends.base import Backend
from agentstate_redis.errors import InvalidInputError, NotFoundError


async def test_totals_count_every_completion_and_dead_letter_and_outlive_retention(backend: Backend) -> None:
    """Totals keep growing after retention deleted the completed and dead tasks themselves."""
    orch = OrchestrationStateManager(backend=backend, completed_retention=2, dead_retention=1)
    await orch.create_team("t")
    assert (await orch.get_team_counters("t")).model_dump() == {"team_id": "t", "completed_total": 0, "dead_total": 0}
    await orch.enqueue_tasks("t", [{"id": f"x{i}", "max_attempts": 1} for i in range(7)])
    for i in range(7):
        task = await orch.claim_task("t", "a")
        assert task is not None
        if i % 2:
            await orch.fail_task("t", task.id, "boom", token=task.token)
        else:
            await orch.complete_task("t", task.id, {}, token=task.token)
    counters = await orch.get_team_counters("t")
    queue = await orch.get_queue_status("t")
    assert (counters.completed_total, counters.dead_total) == (4, 3)
    assert (queue.completed_count, queue.dead_count) == (2, 1)  # trimmed; the totals are not
    assert counters.completed_total == queue.completed_total
    await orch.purge_dead("t")
    assert (await orch.get_team_counters("t")).dead_total == 3


async def test_an_unknown_team_is_not_found_and_a_bad_id_invalid(backend: Backend) -> None:
    orch = OrchestrationStateManager(backend=backend)
    with pytest.raises(NotFoundError):
        await orch.get_team_counters("nobody")
    with pytest.raises(InvalidInputError):
        await orch.get_team_counters("")

"""A claim reaps expired leases and promotes due retries only once the team's ``due_at`` has come, so
every write of an earlier lease deadline or retry time must bring ``due_at`` forward: otherwise a
short lease taken after a long one would be reaped only when the long one's check came round."""

from __future__ import annotations

import asyncio

from agentstate_redis import OrchestrationStateManager
from agentstate_redis.backends.base import Backend
from agentstate_redis.orchestration import Backoff
from agentstate_redis.orchestration.layout import CONTROL_FIELDS

TEAM = "due_team"


async def due_at(orch: OrchestrationStateManager) -> int | None:
    raw = await orch.backend.client.hget(orch.keys.team(TEAM).base, CONTROL_FIELDS["due_at"])
    return None if raw is None else int(raw)


async def test_a_short_lease_after_a_long_one_is_reaped_when_it_expires(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_tasks(TEAM, [{"id": "long"}, {"id": "short"}])
    long = await orch.claim_task(TEAM, "w1", lease=30)
    assert long is not None and long.id == "long"
    checked_until = await due_at(orch)
    assert checked_until is not None  # the first claim worked it out (at most a second ahead)
    short = await orch.claim_task(TEAM, "w2", lease=0.1)
    assert short is not None and short.id == "short"
    brought_forward = await due_at(orch)
    assert brought_forward is not None and brought_forward < checked_until
    await asyncio.sleep(0.25)
    again = await orch.claim_task(TEAM, "w3", lease=30)
    assert again is not None and again.id == "short" and again.attempts == 2


async def test_a_heartbeat_that_shortens_a_lease_brings_the_reap_forward(orch: OrchestrationStateManager) -> None:
    await orch.enqueue_task(TEAM, {"id": "t"})
    task = await orch.claim_task(TEAM, "w1", lease=30)
    assert task is not None
    await orch.heartbeat(TEAM, "w1", lease=0.1)
    await asyncio.sleep(0.25)
    again = await orch.claim_task(TEAM, "w2")
    assert again is not None and again.id == "t"


async def test_a_retry_due_soon_is_promoted_when_it_is_due(backend: Backend) -> None:
    orch = OrchestrationStateManager(backend=backend, backoff=Backoff(kind="fixed", delay=0.1, jitter=0))
    await orch.create_team(TEAM)
    await orch.enqueue_tasks(TEAM, [{"id": "keep-busy"}, {"id": "flaky"}])
    await orch.claim_task(TEAM, "w1", lease=30)  # due_at now about a second ahead
    flaky = await orch.claim_task(TEAM, "w2", lease=30)
    assert flaky is not None and flaky.id == "flaky"
    assert (await orch.fail_task(TEAM, "flaky", "boom", token=flaky.token)).status == "retry"
    await asyncio.sleep(0.25)
    again = await orch.claim_task(TEAM, "w3")
    assert again is not None and again.id == "flaky"


async def test_a_team_without_due_at_reaps_at_the_next_claim(orch: OrchestrationStateManager) -> None:
    """A team whose leases were written by an earlier release has no due_at: the first claim reaps."""
    await orch.enqueue_task(TEAM, {"id": "t"})
    assert await orch.claim_task(TEAM, "w1", lease=0.1) is not None
    await orch.backend.client.hdel(orch.keys.team(TEAM).base, CONTROL_FIELDS["due_at"])
    await asyncio.sleep(0.25)
    again = await orch.claim_task(TEAM, "w2")
    assert again is not None and again.id == "t"
    assert await due_at(orch) is not None

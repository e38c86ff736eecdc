"""Whether a team's queue has anything left for a test worker (its cue to stop when a claim came back empty).

task = await orch.claim_task(team, agent_id, wait=0.3)
if task is None and await nothing_left(orch, team, ("pending", "in_progress", "waiting")):
    return
"""

from __future__ import annotations

from collections.abc import Sequence

from agentstate_redis import OrchestrationStateManager

#: The states a worker waits on by default: work to claim, work held by others, retries due later.
BUSY = ("pending", "in_progress", "scheduled")


async def nothing_left(orch: OrchestrationStateManager, team: str, states: Sequence[str] = BUSY) -> bool:
    """True when ``team`` has no task in any of ``states`` (the queue status's ``<state>_count`` fields)."""
    status = await orch.get_queue_status(team, page_size=0)
    return sum(getattr(status, f"{state}_count") for state in states) == 0

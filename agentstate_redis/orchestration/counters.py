"""A team's running totals, counted on the server by the queue's own scripts.

    >>> counters = await orch.get_team_counters("research_team")
    >>> counters.completed_total, counters.dead_total, counters.claims_total, counters.stalls_total
    (199, 1, 230, 2)
    >>> counters.wakeup.count, counters.wakeup.sum_seconds / counters.wakeup.count   # mean wait to be claimed
    (226, 0.0132)

They only grow (retention trims the completed and dead sets, never these), so they are what
Prometheus counters need: every pod that reads them reports the same numbers.
"""

from __future__ import annotations

from pydantic import Field

from ..model import Model

#: Upper bounds (ms) of the wake-up histogram's buckets, as WAKE_BUCKETS_MS in lib/orchestration_claim.lua.
WAKEUP_BUCKETS_MS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000)

#: Totals read, each incremented by the script that counts it: completed_total
#: (lib/orchestration_finish.lua), dead_total (dead_one in lib/orchestration.lua), failures_total
#: (orchestration/fail), stalls_total (expired leases collected by claim_next in lib/orchestration_claim.lua
#: and orchestration/reap), assigned_total (orchestration/assign).
TOTAL_FIELDS = ("completed_total", "dead_total", "failures_total", "stalls_total", "assigned_total")
#: The wake-up histogram's fields (count_claim in lib/orchestration_claim.lua): one per bucket, not cumulative.
#: Every claim of claim_task and complete_and_claim is one observation, so claims_total is their count
#: plus assigned_total: the claim path keeps no counter of its own.
WAKEUP_FIELDS = (*(f"wake_le_{b}" for b in WAKEUP_BUCKETS_MS), "wake_le_inf", "wake_sum_ms")
#: The team hash fields orchestration/counters reads, in order.
COUNTER_FIELDS = TOTAL_FIELDS + WAKEUP_FIELDS


class WakeupHistogram(Model):
    """How long claimed tasks had been claimable (server clock): from enqueue, or from becoming pending
    again (a retry or delay falling due, dependencies finished, put back after a release or a stall),
    to the ``claim_task``/``complete_and_claim`` that took them. ``assign_task`` is not observed.

    ``buckets``: (upper bound in seconds, claims that waited at most that long), cumulative as in
    Prometheus; ``count`` every observation (the +Inf bucket); ``sum_seconds`` their total wait.
    """

    buckets: list[tuple[float, int]] = Field(default_factory=list)
    count: int = 0
    sum_seconds: float = 0.0


class TeamCounters(Model):
    """Totals since the team was created: tasks completed, dead-lettered, claimed (claims, assigns and
    complete_and_claim's next tasks), failed attempts (fail_task), stalls (expired leases collected),
    and the wake-up histogram of the claims."""

    team_id: str
    completed_total: int = 0
    dead_total: int = 0
    claims_total: int = 0
    failures_total: int = 0
    stalls_total: int = 0
    wakeup: WakeupHistogram = Field(default_factory=WakeupHistogram)


def decode_counters(team_id: str, values: list[str]) -> TeamCounters:
    found = {name: int(value) if value != "" else 0 for name, value in zip(COUNTER_FIELDS, values)}
    buckets: list[tuple[float, int]] = []
    seen = 0
    for bound in WAKEUP_BUCKETS_MS:
        seen += found[f"wake_le_{bound}"]
        buckets.append((bound / 1000, seen))
    wakeup = WakeupHistogram(
        buckets=buckets, count=seen + found["wake_le_inf"], sum_seconds=found["wake_sum_ms"] / 1000
    )
    return TeamCounters(
        team_id=team_id,
        completed_total=found["completed_total"],
        dead_total=found["dead_total"],
        claims_total=wakeup.count + found["assigned_total"],
        failures_total=found["failures_total"],
        stalls_total=found["stalls_total"],
        wakeup=wakeup,
    )

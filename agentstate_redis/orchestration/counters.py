"""A team's running totals, counted on the server by the queue's own scripts.

    >>> counters = await orch.get_team_counters("research_team")
    >>> counters.completed_total, counters.dead_total
    (199, 1)

They only grow (retention trims the completed and dead sets, never these), so they are what
Prometheus counters need: every pod that reads them reports the same numbers.
"""

from __future__ import annotations

from ..model import Model

#: The team hash fields read, in order; each is incremented by the script that counts it
#: (completed_total: lib/orchestration_finish.lua, dead_total: to_dead in lib/orchestration.lua).
COUNTER_FIELDS = ("completed_total", "dead_total")


class TeamCounters(Model):
    """Totals since the team was created: tasks completed, tasks dead-lettered."""

    team_id: str
    completed_total: int = 0
    dead_total: int = 0


def decode_counters(team_id: str, values: list[str]) -> TeamCounters:
    found = {name: int(value) for name, value in zip(COUNTER_FIELDS, values) if value != ""}
    return TeamCounters(team_id=team_id, **found)

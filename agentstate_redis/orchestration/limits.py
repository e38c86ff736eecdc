"""Claim limits of a team: concurrency and claims per second, for the whole team or one capability.

    >>> await orch.set_team_limits("team", max_in_progress=3)                      # the whole team
    >>> await orch.set_team_limits("team", max_per_second=20, capability="gpu")    # tasks needing "gpu"
    >>> await orch.get_team_limits("team")
    [TeamLimits(capability=None, max_in_progress=3, ...), TeamLimits(capability='gpu', max_per_second=20, ...)]
    >>> await orch.set_team_limits("team", capability="gpu")                       # both None: cleared

Every claim script (claim_task, complete_and_claim, assign_task) checks them on the server's clock,
so no client can overrun them. A claim held back returns None (its script says how long until the
limit may let one through: claimers with ``wait`` block that long, at most, then look again);
assign_task raises InvalidTransitionError (status ``limited``, ``retry_ms``). A team with no limits
pays nothing on the claim path (a flag read with the pause flag decides).
"""

from __future__ import annotations

from typing import Any

from ..model import Model
from ..validate import integer
from .models import check_name
from .queue import QueueOps
from .teams import _checked
from .wire import as_list, reply


class TeamLimits(Model):
    """One scope's limits (``capability`` None = the whole team) and its use now: tasks in progress,
    claims in the last second (server clock), seconds until a claim may pass (0 = now)."""

    capability: str | None = None
    max_in_progress: int | None = None
    max_per_second: int | None = None
    in_progress: int = 0
    last_second: int = 0
    retry_after: float = 0.0


def _decode(row: dict[str, Any]) -> TeamLimits:
    return TeamLimits.model_construct(
        capability=row.get("capability") or None,
        max_in_progress=None if row.get("max_in_progress") is None else int(row["max_in_progress"]),
        max_per_second=None if row.get("max_per_second") is None else int(row["max_per_second"]),
        in_progress=int(row.get("in_progress", 0)),
        last_second=int(row.get("last_second", 0)),
        retry_after=int(row.get("retry_ms", 0)) / 1000,
    )


class LimitOps(QueueOps):
    async def set_team_limits(
        self,
        team_id: str,
        *,
        max_in_progress: int | None = None,
        max_per_second: int | None = None,
        capability: str | None = None,
    ) -> TeamLimits:
        """Set the claim limits of the whole team (or of the tasks needing ``capability``); returns them.

        ``await orch.set_team_limits("t", max_in_progress=3, max_per_second=20)``. Both values
        replace the scope's limits, and None means no such limit: ``set_team_limits("t")`` clears
        the team-wide ones, ``set_team_limits("t", capability="gpu")`` those of "gpu". Limits of
        several scopes add up: a claim passes only when the team's and its task's capability's do.
        Subscribers get a ``team_limits`` event; blocked claimers wake, so a loosened limit acts now.
        """
        most = "" if max_in_progress is None else integer("max_in_progress", max_in_progress)
        rate = "" if max_per_second is None else integer("max_per_second", max_per_second)
        scope = "" if capability is None else _checked(check_name, capability, "capability")
        return _decode(reply(await self._write("limits", team_id, scope, most, rate)))

    async def get_team_limits(self, team_id: str) -> list[TeamLimits]:
        """The team's limits, the team-wide scope first, then capabilities by name ([] with none).

        ``[(s.capability, s.max_in_progress, s.in_progress) for s in await orch.get_team_limits("t")]``
        """
        k = self._team(team_id)
        rows = reply(await self.backend.run("orchestration/get_limits", [k.base], [team_id]))
        return [_decode(row) for row in as_list(rows)]

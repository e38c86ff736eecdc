"""What the team and queue halves of OrchestrationStateManager share: settings, keys, one script call."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError
from ..keys import validate_id
from ..manager import BaseManager
from ..validate import integer, positive_number
from .models import Backoff
from .wire import reply


class TeamBase(BaseManager):
    """Settings and the script call every orchestration method uses."""

    kind = "team"

    def __init__(
        self,
        persistence: Any = None,
        *,
        sync_interval: float = 1.0,
        lease: float = 30.0,
        offline_after: float | None = None,
        max_stalls: int = 3,
        max_attempts: int = 3,
        backoff: Backoff | None = None,
        completed_retention: int = 1000,
        page_size: int = 50,
        **settings: Any,
    ) -> None:
        self.sync_interval = positive_number("sync_interval", sync_interval)
        self.lease = positive_number("lease", lease)
        self.offline_after = positive_number(
            "offline_after", offline_after if offline_after is not None else 10 * self.sync_interval)
        self.max_stalls = integer("max_stalls", max_stalls, minimum=0)
        self.max_attempts = integer("max_attempts", max_attempts)
        if backoff is not None and not isinstance(backoff, Backoff):
            raise InvalidInputError(f"backoff must be a Backoff, got {type(backoff).__name__}")
        self.backoff = backoff or Backoff()
        self.completed_retention = integer("completed_retention", completed_retention)
        self.page_size = integer("page_size", page_size)
        super().__init__(persistence, **settings)

    def _team(self, team_id: str) -> Any:
        validate_id("team", team_id)
        return self.keys.team(team_id)

    async def _write(self, script: str, team_id: str, *args: Any) -> Any:
        """Run a mutating team script: KEYS base/ops/opq, ARGV op id, channel, team id, ``args``."""
        k = self._team(team_id)
        argv = [self._op_id(), self.backend.channel("team", team_id), team_id, *args]
        return await self.backend.run(f"orchestration/{script}", [k.base, k.ops, k.op_order], argv)

    async def _read(self, script: str, team_id: str, *args: Any) -> Any:
        k = self._team(team_id)
        return reply(await self.backend.run(f"orchestration/{script}", [k.base], [team_id, *args]))

    def _ms(self, seconds: float) -> int:
        return max(1, int(seconds * 1000))

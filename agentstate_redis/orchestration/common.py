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
        dead_retention: int = 10000,
        enqueue_dedupe_window: float = 86400.0,
        page_size: int = 50,
        auto_prune_after: float | None = None,
        max_task_log_lines: int = 100,
        **settings: Any,
    ) -> None:
        self.sync_interval = positive_number("sync_interval", sync_interval)
        self.lease = positive_number("lease", lease)
        self.offline_after = positive_number(
            "offline_after", offline_after if offline_after is not None else 10 * self.sync_interval
        )
        self.max_stalls = integer("max_stalls", max_stalls, minimum=0)
        self.max_attempts = integer("max_attempts", max_attempts)
        if backoff is not None and not isinstance(backoff, Backoff):
            raise InvalidInputError(f"backoff must be a Backoff, got {type(backoff).__name__}")
        self.backoff = backoff or Backoff()
        self.completed_retention = integer("completed_retention", completed_retention)
        self.dead_retention = integer("dead_retention", dead_retention)
        self.enqueue_dedupe_window = positive_number("enqueue_dedupe_window", enqueue_dedupe_window, allow_zero=True)
        self.page_size = integer("page_size", page_size)
        self.auto_prune_after = (
            None if auto_prune_after is None else positive_number("auto_prune_after", auto_prune_after)
        )
        self.max_task_log_lines = integer("max_task_log_lines", max_task_log_lines)
        super().__init__(persistence, **settings)

    def _team(self, team_id: str) -> Any:
        validate_id("team", team_id)
        return self.keys.team(team_id)

    async def _write(self, script: str, team_id: str, *args: Any, op_id: str | None = None) -> Any:
        """Run a mutating team script: KEYS base/ops/ops_prev, ARGV op id, channel, team id, ``args``.

        ``op_id=""`` for an idempotent script whose retries need no de-duplication (nothing remembered).
        """
        k = self._team(team_id)
        argv = [self._op_id() if op_id is None else op_id, self.backend.channel("team", team_id), team_id, *args]
        return await self.backend.run(f"orchestration/{script}", [k.base, k.ops, k.ops_prev], argv)

    def _window_ms(self) -> int:
        """The dedupe window in ms (0 allowed: tombstones are then dropped at once)."""
        return int(self.enqueue_dedupe_window * 1000)

    def _dead_limits(self) -> list[int]:
        """ARGV of the scripts that may dead-letter a task: dead letters kept, dedupe window ms."""
        return [self.dead_retention, self._window_ms()]

    async def _read(self, script: str, team_id: str, *args: Any) -> Any:
        k = self._team(team_id)
        return reply(await self.backend.run(f"orchestration/{script}", [k.base], [team_id, *args]))

    def _ms(self, seconds: float) -> int:
        return max(1, int(seconds * 1000))

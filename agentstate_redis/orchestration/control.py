"""Task control from any process: cancel a task, promote a delayed one, pause and resume a team.

    >>> await orch.cancel_task("team", "t7", reason="user aborted")   # pending/delayed/retry: cancelled now
    >>> await orch.promote_task("team", "t8")                         # a delayed task, claimable now
    >>> await orch.pause_team("team"); await orch.resume_team("team")
    >>> await orch.update_task_progress("team", task.id, 0.4, token=task.token)   # the holder reports
    >>> await orch.add_task_log("team", task.id, "fetched 3 sources", token=task.token)

Each is one script on the team's hash tag, deciding on the server's state and clock. A running
task that is cancelled ends ``cancelled`` at once; its holder learns it from its next heartbeat
(TaskCancelledError; ``keep_alive`` cancels the block it guards), and its late complete, fail or
release is refused with TaskCancelledError, so a task ends cancelled exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInputError
from ..keys import validate_id
from ..validate import text
from .models import Task
from .queue import QueueOps
from .wire import as_list, decode_task, reply


class ControlOps(QueueOps):
    async def cancel_task(self, team_id: str, task_id: str, *, reason: str | None = None) -> Task:
        """End a task ``cancelled`` (pending, delayed, waiting for a retry or for its dependencies, or in
        progress); returns it.

        ``await orch.cancel_task("t", "task_002", reason="superseded")``. A finished task
        (completed, dead, cancelled) raises InvalidTransitionError, an unknown one NotFoundError.
        The newest ``completed_retention`` cancelled tasks are kept (``list_tasks(t, "cancelled")``);
        older ones are deleted and their ids refused by enqueue for ``enqueue_dedupe_window``.
        Tasks that depend on it fail (dead letters naming it) or, enqueued with
        ``on_dependency_failure="ignore"``, proceed.
        """
        validate_id("task", task_id)
        why = "" if reason is None else text("reason", reason, max_chars=4096)
        return decode_task(
            reply(
                await self._write(
                    "cancel", team_id, task_id, why, self.completed_retention, self._window_ms(), self.dead_retention
                )
            )
        )

    async def promote_task(self, team_id: str, task_id: str) -> Task:
        """Make a delayed (or retry-waiting) task pending now, in its place in line; returns it.

        ``await orch.promote_task("t", "task_003")``. Any other status raises InvalidTransitionError.
        """
        validate_id("task", task_id)
        return decode_task(reply(await self._write("promote", team_id, task_id)))

    async def pause_team(self, team_id: str) -> bool:
        """Stop every claim of the team (they return None; blocked claimers wait); True if it was running.

        ``await orch.pause_team("t")``. Heartbeats, completions, failures, releases and
        ``assign_task`` still work, so tasks in flight finish.
        """
        return bool(await self._write("pause", team_id, "pause") == "1")

    async def resume_team(self, team_id: str) -> bool:
        """Let claims through again (blocked claimers wake at once); True if it was paused.

        ``await orch.resume_team("t")``
        """
        return bool(await self._write("pause", team_id, "resume") == "1")

    async def update_task_progress(
        self, team_id: str, task_id: str, progress: Any, *, token: int | None = None
    ) -> Task:
        """The holder reports how far its task is: a number from 0 to 1 or a JSON object; returns the task.

        ``await orch.update_task_progress("t", task.id, 0.5, token=task.token)``. Fenced like a
        completion (a stale token: LeaseError; a cancelled task: TaskCancelledError); ``get_task``
        shows it (``task.progress``) and subscribers get a ``progress`` event.
        """
        validate_id("task", task_id)
        number = isinstance(progress, (int, float)) and not isinstance(progress, bool)
        if number and not (math.isfinite(progress) and 0 <= progress <= 1):
            raise InvalidInputError(f"progress must be a number from 0 to 1 or a dict, got {progress!r}")
        if not number and not isinstance(progress, Mapping):
            raise InvalidInputError(f"progress must be a number from 0 to 1 or a dict, got {type(progress).__name__}")
        value = self._dumps(progress if number else dict(progress), what=f"progress of task {task_id!r}")
        return await self._report(team_id, task_id, token, "progress", value)

    async def add_task_log(self, team_id: str, task_id: str, line: str, *, token: int | None = None) -> Task:
        """The holder appends one line to its task's log (the newest ``max_task_log_lines``, 100, are kept).

        ``await orch.add_task_log("t", task.id, "fetched 3 sources", token=task.token)``. Fenced
        like update_task_progress; subscribers get a ``task_log`` event with the line.
        """
        validate_id("task", task_id)
        return await self._report(team_id, task_id, token, "log", text("line", line, max_chars=65536))

    async def get_task_logs(self, team_id: str, task_id: str) -> list[str]:
        """A task's log lines, oldest first (NotFoundError for an unknown task).

        ``await orch.get_task_logs("t", "task_002")`` -> ``["fetched 3 sources", ...]``
        """
        validate_id("task", task_id)
        return [str(line) for line in as_list(await self._read("task_logs", team_id, task_id))]

    async def _report(self, team_id: str, task_id: str, token: int | None, what: str, value: str) -> Task:
        _, tok = self._holder(None, token)
        return decode_task(
            reply(await self._write("progress", team_id, task_id, tok, what, value, self.max_task_log_lines))
        )

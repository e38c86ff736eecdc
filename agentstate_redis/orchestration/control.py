"""Task control from any process: cancel a task, promote a delayed one, pause and resume a team.

    >>> await orch.cancel_task("team", "t7", reason="user aborted")   # pending/delayed/retry: cancelled now
    >>> await orch.promote_task("team", "t8")                         # a delayed task, claimable now
    >>> await orch.pause_team("team"); await orch.resume_team("team")

Each is one script on the team's hash tag, deciding on the server's state and clock. A running
task that is cancelled ends ``cancelled`` at once; its holder learns it from its next heartbeat
(TaskCancelledError; ``keep_alive`` cancels the block it guards), and its late complete, fail or
release is refused with TaskCancelledError, so a task ends cancelled exactly once.
"""

from __future__ import annotations

from ..keys import validate_id
from ..validate import text
from .models import Task
from .queue import QueueOps
from .wire import decode_task, reply


class ControlOps(QueueOps):
    async def cancel_task(self, team_id: str, task_id: str, *, reason: str | None = None) -> Task:
        """End a task ``cancelled`` (pending, delayed, waiting for a retry, or in progress); returns it.

        ``await orch.cancel_task("t", "task_002", reason="superseded")``. A finished task
        (completed, dead, cancelled) raises InvalidTransitionError, an unknown one NotFoundError.
        The newest ``completed_retention`` cancelled tasks are kept (``list_tasks(t, "cancelled")``);
        older ones are deleted and their ids refused by enqueue for ``enqueue_dedupe_window``.
        """
        validate_id("task", task_id)
        why = "" if reason is None else text("reason", reason, max_chars=4096)
        return decode_task(reply(await self._write("cancel", team_id, task_id, why, self.completed_retention,
                                                   self._window_ms())))

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
        return await self._write("pause", team_id, "pause") == "1"

    async def resume_team(self, team_id: str) -> bool:
        """Let claims through again (blocked claimers wake at once); True if it was paused.

        ``await orch.resume_team("t")``
        """
        return await self._write("pause", team_id, "resume") == "1"

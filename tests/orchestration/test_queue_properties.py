"""Property-based test of the team task queue on the real server: Redis and a plain Python model agree.

Any sequence of enqueue (now or delayed), claim, complete (with the current or a stale token),
release, fail, cancel (from anywhere, of a task in any state), promote of a delayed task, and team
pause/resume leaves every task in the state the model says, claims come out in priority order (FIFO
within a priority) and never while paused nor of a delayed task, a stale token is always refused,
and a cancelled task's holder learns it once from its heartbeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from agentstate_redis import (
    InvalidTransitionError,
    LeaseError,
    TaskCancelledError,
)

from ..model_checks import check_against_model
from .machines import TeamMachine

TEAM = "props"
IDS = st.sampled_from([f"t{i}" for i in range(8)])
PRIORITIES = st.sampled_from(["low", "normal", "high", 7])
RANK = {"low": 0, "normal": 50, "high": 100}


@dataclass
class Modelled:
    priority: int
    seq: int
    status: str = "pending"
    token: int | None = None
    stale: int | None = None  # a token this task handed out before, now dead


class QueueMachine(TeamMachine):
    def __init__(self) -> None:
        super().__init__(TEAM, max_attempts=1000, max_stalls=1000)
        self.model: dict[str, Modelled] = {}
        self.seq = 0
        self.paused = False
        self.told: set[str] = set()  # cancelled while held, the holder not yet told (heartbeat/outcome)

    def _in(self, status: str) -> list[str]:
        return sorted(t for t, m in self.model.items() if m.status == status)

    @rule(task_id=IDS, priority=PRIORITIES, delayed=st.booleans())
    def enqueue(self, task_id: str, priority: Any, delayed: bool) -> None:
        delay = 3600 if delayed else None  # never due during a run: only promote makes it claimable
        created = self.run(self.orch.enqueue_tasks(TEAM, [{"id": task_id, "priority": priority}], delay=delay))
        if task_id in self.model:
            assert created == []  # idempotent by id, whatever state the task is in
            return
        assert created == [task_id]
        self.seq += 1
        self.model[task_id] = Modelled(RANK.get(priority, priority), self.seq, "delayed" if delayed else "pending")

    @rule(task_id=IDS)
    def promote(self, task_id: str) -> None:
        m = self.model.get(task_id)
        if m is None:
            return
        if m.status != "delayed":
            with pytest.raises(InvalidTransitionError):
                self.run(self.orch.promote_task(TEAM, task_id))
            return
        assert self.run(self.orch.promote_task(TEAM, task_id)).status == "pending"
        m.status = "pending"  # in its place in line by its enqueue order

    @rule(task_id=IDS)
    def cancel(self, task_id: str) -> None:
        m = self.model.get(task_id)
        if m is None:
            return
        if m.status in ("completed", "dead", "cancelled"):
            with pytest.raises(InvalidTransitionError):
                self.run(self.orch.cancel_task(TEAM, task_id))
            return
        assert self.run(self.orch.cancel_task(TEAM, task_id, reason="prop")).status == "cancelled"
        if m.status == "in_progress":
            self.told.add(task_id)
        m.status, m.stale, m.token = "cancelled", m.token or m.stale, None

    @rule()
    def heartbeat(self) -> None:
        if self.told:
            with pytest.raises(TaskCancelledError) as err:
                self.run(self.orch.heartbeat(TEAM, "worker"))
            assert set(err.value.tasks) == self.told
            self.told.clear()
        leases = self.run(self.orch.heartbeat(TEAM, "worker"))
        assert sorted(leases) == self._in("in_progress")

    @rule(pause=st.booleans())
    def pause_or_resume(self, pause: bool) -> None:
        changed = self.run(self.orch.pause_team(TEAM) if pause else self.orch.resume_team(TEAM))
        assert changed == (pause != self.paused)
        self.paused = pause

    @rule()
    def claim(self) -> None:
        pending = [t for t in self._in("pending")]
        expected = min(pending, key=lambda t: (-self.model[t].priority, self.model[t].seq)) if pending else None
        task = self.run(self.orch.claim_task(TEAM, "worker", lease=600))
        if expected is None or self.paused:
            assert task is None
            return
        assert task is not None and task.id == expected
        m = self.model[expected]
        assert m.token is None or task.token > m.token
        m.status, m.token = "in_progress", task.token

    @rule(task_id=IDS, stale=st.booleans())
    def complete(self, task_id: str, stale: bool) -> None:
        m = self.model.get(task_id)
        token = (m.stale if stale else m.token) if m else None
        if m is None or token is None:
            return
        if m.status == "in_progress" and not stale:
            done = self.run(self.orch.complete_task(TEAM, task_id, {"ok": task_id}, token=token))
            assert done.status == "completed" and done.result == {"ok": task_id}
            m.status, m.stale, m.token = "completed", token, None
            return
        with pytest.raises((LeaseError, InvalidTransitionError)) as err:
            self.run(self.orch.complete_task(TEAM, task_id, {"late": True}, token=token))
        assert isinstance(err.value, TaskCancelledError) == (m.status == "cancelled")
        self.told.discard(task_id)  # a refused outcome tells the holder too

    @rule(task_id=IDS)
    def release(self, task_id: str) -> None:
        m = self.model.get(task_id)
        if m is None or m.status != "in_progress":
            return
        self.run(self.orch.release_task(TEAM, task_id, token=m.token))
        m.status, m.stale, m.token = "pending", m.token, None  # keeps its place in line

    @rule(task_id=IDS)
    def fail_for_good(self, task_id: str) -> None:
        m = self.model.get(task_id)
        if m is None or m.status != "in_progress":
            return
        task = self.run(self.orch.fail_task(TEAM, task_id, "boom", retry=False, token=m.token))
        assert task.status == "dead" and task.errors[-1].endswith("boom")
        m.status, m.stale, m.token = "dead", m.token, None

    @invariant()
    def redis_agrees_with_the_model(self) -> None:
        queue = self.run(self.orch.get_queue_status(TEAM))
        assert queue.pending_count == len(self._in("pending"))
        assert queue.in_progress_count == len(self._in("in_progress"))
        assert queue.completed_total == len(self._in("completed"))
        assert queue.dead_count == len(self._in("dead"))
        assert queue.delayed_count == len(self._in("delayed"))
        assert queue.cancelled_total == len(self._in("cancelled"))
        assert queue.paused == self.paused
        for task_id, m in self.model.items():
            assert self.run(self.orch.get_task(TEAM, task_id)).status == m.status


@pytest.mark.slow
def test_task_queue_state_machine_against_model(redis_url: str) -> None:
    check_against_model(QueueMachine, redis_url, max_examples=100, stateful_step_count=40, derandomize=True)

"""Property-based test of flows on the real server: Redis and a plain Python model agree.

Any sequence of enqueues with dependencies (on tasks in any state, or unknown ones), claims,
completions, dead-letterings and cancels leaves every task in the status the model says: a task
is claimable exactly when its dependencies all finished (and none failed under "fail"), claims
come out in enqueue order, a failed or cancelled dependency fails its dependents (in a cascade) or
is ignored by policy, and a claimed task carries exactly its completed dependencies' results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from agentstate_redis import InvalidInputError, InvalidTransitionError

from ..model_checks import check_against_model
from .machines import TeamMachine

TEAM = "flow_props"
NAMES = [f"t{i}" for i in range(5)]
IDS = st.sampled_from(NAMES)
DEPS = st.lists(st.sampled_from([*NAMES, "unknown"]), max_size=3, unique=True)
FINISHED = {"completed", "dead", "cancelled"}


@dataclass
class Node:
    seq: int
    deps: list[str]
    policy: str
    status: str = "pending"
    open: set[str] = field(default_factory=set)
    inputs: dict[str, Any] = field(default_factory=dict)
    token: int | None = None


class FlowMachine(TeamMachine):
    def __init__(self) -> None:
        super().__init__(TEAM)
        self.model: dict[str, Node] = {}

    # -- the model ---------------------------------------------------------------------------

    def settle(self, task_id: str, outcome: str, result: Any = None) -> None:
        work = [(task_id, outcome, result)]
        while work:
            parent, how, res = work.pop(0)
            for dep_id, node in self.model.items():
                if node.status != "waiting" or parent not in node.open:
                    continue
                node.open.discard(parent)
                if how == "completed":
                    node.inputs[parent] = res
                if how != "completed" and node.policy == "fail":
                    node.status = "dead"
                    node.open.clear()
                    work.append((dep_id, "dead", None))
                elif not node.open:
                    node.status = "pending"

    def claimable(self) -> list[str]:
        return sorted((t for t, n in self.model.items() if n.status == "pending"), key=lambda t: self.model[t].seq)

    # -- rules -------------------------------------------------------------------------------

    @rule(task_id=IDS, deps=DEPS, ignore=st.booleans())
    def enqueue(self, task_id: str, deps: list[str], ignore: bool) -> None:
        policy = "ignore" if ignore else "fail"
        call = self.orch.enqueue_task(TEAM, {"id": task_id}, depends_on=deps, on_dependency_failure=policy)
        if task_id in deps:
            with pytest.raises(InvalidInputError, match="itself"):
                self.run(call)
            return
        if task_id in self.model:
            assert self.run(call) == task_id  # idempotent by id: nothing changes
            return
        if any(d not in self.model for d in deps):
            with pytest.raises(InvalidInputError, match="unknown"):
                self.run(call)
            return
        self.run(call)
        self.add(task_id, deps, policy)

    @rule(ids=st.lists(IDS, min_size=2, max_size=4, unique=True), root=DEPS, ignore=st.booleans())
    def enqueue_chain(self, ids: list[str], root: list[str], ignore: bool) -> None:
        """A chain as one flow (sent in reverse: enqueue_flow orders it): ids[k] depends on ids[k-1]."""
        policy = "ignore" if ignore else "fail"
        root = [d for d in root if d not in ids]
        chain = [
            {"id": t, "depends_on": root if k == 0 else [ids[k - 1]], "on_dependency_failure": policy}
            for k, t in enumerate(ids)
        ]
        new = [t for t in ids if t not in self.model]
        if ids[0] in new and any(d not in self.model for d in root):
            with pytest.raises(InvalidInputError, match="unknown"):
                self.run(self.orch.enqueue_flow(TEAM, list(reversed(chain))))
            return
        assert self.run(self.orch.enqueue_flow(TEAM, list(reversed(chain)))) == list(reversed(new))
        for item in chain:
            if item["id"] in new:
                self.add(item["id"], item["depends_on"], policy)

    def add(self, task_id: str, deps: list[str], policy: str) -> None:
        node = Node(seq=len(self.model), deps=deps, policy=policy)
        for dep in deps:
            parent = self.model[dep]
            if parent.status == "completed":
                node.inputs[dep] = {"done": dep}
            elif parent.status in ("dead", "cancelled"):
                if policy == "fail":
                    node.status = "dead"
            else:
                node.open.add(dep)
        if node.status != "dead":
            node.status = "waiting" if node.open else "pending"
        else:
            node.open.clear()
        self.model[task_id] = node

    @rule()
    def claim(self) -> None:
        task = self.run(self.orch.claim_task(TEAM, "w1"))
        expected = self.claimable()
        if not expected:
            assert task is None
            return
        assert task is not None and task.id == expected[0]
        node = self.model[task.id]
        assert task.dependency_results == node.inputs
        node.status, node.token = "in_progress", task.token

    @rule(data=st.data(), die=st.booleans())
    def finish(self, data: st.DataObject, die: bool) -> None:
        running = sorted(t for t, n in self.model.items() if n.status == "in_progress")
        if not running:
            return
        task_id = data.draw(st.sampled_from(running))
        node = self.model[task_id]
        if die:
            self.run(self.orch.fail_task(TEAM, task_id, "boom", retry=False, token=node.token))
            node.status = "dead"
            self.settle(task_id, "dead")
        else:
            self.run(self.orch.complete_task(TEAM, task_id, {"done": task_id}, token=node.token))
            node.status = "completed"
            self.settle(task_id, "completed", {"done": task_id})

    @rule(task_id=IDS)
    def cancel(self, task_id: str) -> None:
        node = self.model.get(task_id)
        if node is None:
            return
        if node.status in FINISHED:
            with pytest.raises(InvalidTransitionError):
                self.run(self.orch.cancel_task(TEAM, task_id))
            return
        self.run(self.orch.cancel_task(TEAM, task_id))
        node.status = "cancelled"
        node.open.clear()
        self.settle(task_id, "cancelled")

    # -- what must hold ----------------------------------------------------------------------

    @invariant()
    def statuses_agree(self) -> None:
        for task_id, node in self.model.items():
            stored = self.run(self.orch.get_task(TEAM, task_id))
            assert stored.status == node.status, (task_id, stored.status, node.status)
            assert stored.depends_on == node.deps
        status = self.run(self.orch.get_queue_status(TEAM, page_size=0))
        assert status.waiting_count == sum(n.status == "waiting" for n in self.model.values())
        assert status.pending_count == len(self.claimable())


def test_flows_state_machine_against_model(redis_url: str) -> None:
    check_against_model(FlowMachine, redis_url, max_examples=100, stateful_step_count=40, derandomize=True)

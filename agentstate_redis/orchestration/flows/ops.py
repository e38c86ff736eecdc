"""Flows on OrchestrationStateManager: tasks that wait for other tasks, enqueued as one graph.

    >>> await orch.enqueue_flow("research_team", [
    ...     {"id": "research-1", "type": "research", "data": {"topic": "a"}},
    ...     {"id": "research-2", "type": "research", "data": {"topic": "b"}},
    ...     {"id": "write-report", "type": "write", "depends_on": ["research-1", "research-2"]},
    ... ])
    ['research-1', 'research-2', 'write-report']
    >>> task = await orch.claim_task("research_team", "writer", capabilities=["write"])  # once both completed
    >>> task.dependency_results
    {'research-1': {...}, 'research-2': {...}}

A waiting task becomes pending in the script that completes its last dependency, so no claim can
see it before; the graph lives under the team's hash tag (cluster-safe). How the scripts keep the
edges is in lua/lib/orchestration_flow.lua.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...codec import loads
from ...errors import InvalidInputError
from ...keys import validate_id
from ...tracing import send
from ...validate import integer, sequence
from ..models import Task
from ..queue import QueueOps, to_task
from ..wire import as_list, pairs
from .graph import dependency_order
from .models import Flow, FlowNode

#: Tasks one enqueue_flow writes (one script: all or nothing).
MAX_FLOW_TASKS = 5000


class FlowOps(QueueOps):
    @send("enqueue", "tasks")
    async def enqueue_flow(self, team_id: str, tasks: Iterable[Task | Mapping[str, Any]]) -> list[str]:
        """Add a graph of tasks at once, all or nothing; returns the ids that were new.

        ``await orch.enqueue_flow("t", [{"id": "r1"}, {"id": "w", "depends_on": ["r1"]}])``.
        Each task's ``depends_on`` names tasks of this list or tasks already in the team; the list
        may be in any order (it is sent dependencies first). A cycle, an id listed twice or a
        dependency that is neither is InvalidInputError and nothing is written. Ids that already
        exist are left as they are (enqueue is idempotent by id), so sending a flow again adds
        only what is missing. At most 5000 tasks per call.
        """
        items = [to_task(t, self.max_attempts) for t in sequence("tasks", tasks)]
        if len(items) > MAX_FLOW_TASKS:
            raise InvalidInputError(f"a flow holds at most {MAX_FLOW_TASKS} tasks, got {len(items)}")
        if not items:
            return []
        ordered = dependency_order(items)
        marks = await self._enqueue_flow(team_id, ordered)
        created = {t.id for t, mark in zip(ordered, marks) if mark == "1"}
        return [t.id for t in items if t.id in created]

    async def get_flow(self, team_id: str, task_id: str, *, limit: int = 1000) -> Flow:
        """The tasks linked to ``task_id`` through dependencies (either way), each with its status.

        ``flow = await orch.get_flow("t", "w")``; ``flow.nodes["r1"].status``, ``flow.counts()``.
        NotFoundError if the task is unknown or was deleted.
        """
        validate_id("task", task_id)
        integer("limit", limit)
        out = await self._read("flow_get", team_id, task_id, limit)
        nodes = {}
        for raw in as_list(out.get("nodes")):
            nodes[raw["id"]] = FlowNode.model_construct(
                id=raw["id"],
                status=raw["status"],
                depends_on=list(as_list(raw.get("deps"))),
                dependents=list(as_list(raw.get("dependents"))),
            )
        return Flow.model_construct(task_id=task_id, nodes=nodes, truncated=bool(out.get("truncated")))

    async def get_dependency_results(self, team_id: str, task_id: str) -> dict[str, Any]:
        """The results of the task's dependencies that completed, by dependency id.

        ``await orch.get_dependency_results("t", "w")`` -> ``{"r1": {...}}``. The results are copied
        to the dependent as each dependency completes, so they stay readable after the dependency
        itself is trimmed from the completed history. NotFoundError if the task is unknown.
        """
        validate_id("task", task_id)
        flat = await self._read("flow_results", team_id, task_id)
        return {key: loads(value) for key, value in pairs(flat).items()}

"""The public shape of a flow: the tasks linked to one task through dependencies.

>>> flow = await orch.get_flow("research_team", "write-report")
>>> flow.nodes["write-report"].depends_on, flow.nodes["research-1"].status
(['research-1', 'research-2'], 'completed')
"""

from __future__ import annotations

from pydantic import Field

from ...model import Model


class FlowNode(Model):
    """One task of a flow: its status (``gone`` = finished and deleted, its own dependencies no
    longer known), the tasks it depends on and the tasks that depend on it."""

    id: str
    status: str
    depends_on: list[str] = Field(default_factory=list)
    dependents: list[str] = Field(default_factory=list)


class Flow(Model):
    """The graph around ``task_id``: every task linked to it either way, breadth first, at most the
    ``limit`` asked for (``truncated`` when there were more)."""

    task_id: str
    nodes: dict[str, FlowNode] = Field(default_factory=dict)
    truncated: bool = False

    def counts(self) -> dict[str, int]:
        """How many of the flow's tasks are in each status: ``{"completed": 3, "waiting": 1}``."""
        out: dict[str, int] = {}
        for node in self.nodes.values():
            out[node.status] = out.get(node.status, 0) + 1
        return out

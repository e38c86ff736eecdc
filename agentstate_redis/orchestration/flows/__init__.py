"""Flows of a team: tasks that wait for other tasks (``depends_on``), enqueued one by one or as a graph.

    >>> await orch.enqueue_flow("research_team", [{"id": "r1"}, {"id": "w", "depends_on": ["r1"]}])
    >>> await orch.get_flow("research_team", "w")

``models``: the public Flow and FlowNode; ``graph``: the order a flow is sent in, cycles refused
(pure); ``ops``: the manager's methods over the orchestration/flow_* scripts.
"""

from .graph import dependency_order
from .models import Flow, FlowNode
from .ops import MAX_FLOW_TASKS, FlowOps

__all__ = ["MAX_FLOW_TASKS", "Flow", "FlowNode", "FlowOps", "dependency_order"]

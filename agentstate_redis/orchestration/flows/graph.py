"""The order a flow's tasks are sent in: each after the tasks of the flow it depends on.

    >>> [t.id for t in dependency_order([Task(id="w", depends_on=["r"]), Task(id="r")])]
    ['r', 'w']
    >>> dependency_order([Task(id="a", depends_on=["b"]), Task(id="b", depends_on=["a"])])
    Traceback (most recent call last):
    InvalidInputError: the flow has a cycle: a -> b -> a

Dependencies on tasks outside the list are the server's to check (orchestration/flow_enqueue).
"""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import InvalidInputError
from ..models import Task


def dependency_order(tasks: Sequence[Task]) -> list[Task]:
    """``tasks`` sorted so that each comes after the listed tasks it depends on, otherwise in the
    order given; InvalidInputError naming a cycle if there is one, or an id listed twice."""
    by_id: dict[str, Task] = {}
    for task in tasks:
        if task.id in by_id:
            raise InvalidInputError(f"task id {task.id!r} appears twice in the flow", kind="task", id=task.id)
        by_id[task.id] = task
    order: list[Task] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = placed
    for root in tasks:
        if state.get(root.id) == 2:
            continue
        # depth first without recursion: a stack of (task, index of its next dependency)
        path: list[tuple[Task, int]] = [(root, 0)]
        state[root.id] = 1
        while path:
            task, i = path[-1]
            local = [d for d in task.depends_on if d in by_id]
            if i < len(local):
                path[-1] = (task, i + 1)
                dep = local[i]
                if state.get(dep) == 1:
                    ids = [t.id for t, _ in path]
                    cycle = ids[ids.index(dep) :] + [dep]
                    raise InvalidInputError(
                        f"the flow has a cycle: {' -> '.join(cycle)}", kind="task", id=dep, cycle=cycle
                    )
                if state.get(dep) is None:
                    state[dep] = 1
                    path.append((by_id[dep], 0))
                continue
            path.pop()
            state[task.id] = 2
            order.append(task)
    return order

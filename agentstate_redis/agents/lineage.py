"""Checkpoint lineage: every checkpoint records its parent; forks start new lines (Kaizen's tree).

    >>> fork = await store.fork_from_checkpoint("researcher_01", "task_step_5")
    >>> fork.parent_checkpoint_id
    'task_step_5'
    >>> tree = await store.get_checkpoint_tree("researcher_01")
    >>> tree.children("task_step_5")          # ['task_step_6', 'ckpt_3f...'] (the fork)
    >>> tree.as_dict()                        # Kaizen's shape: {parent id: [child id, ...]}

An agent has one *line*: the checkpoint it last saved, restored, recovered or forked to is its
head, and the next checkpoint saved is the head's child. Restoring an older checkpoint and saving
again therefore branches; ``fork_from_checkpoint`` branches explicitly, as one script. A
checkpoint's place is fixed when it is first saved (saving the same id again keeps its parent).
Parents are named by id and by the order of their first save, so an id deleted and saved again
is a new node and the tree never has a cycle. A parent removed by retention or deletion leaves
its children as roots of the tree (their ``parent_checkpoint_id`` still says where they came from).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import Field

from ..model import Model


class CheckpointNode(Model):
    """One checkpoint's place in its agent's lineage (light: no state; ``get_checkpoint`` loads it)."""

    agent_id: str
    checkpoint_id: str
    step_number: int
    #: Where it came from (None for the first checkpoint of a line).
    parent_checkpoint_id: str | None = None
    parent_agent_id: str | None = None
    #: True if ``fork_from_checkpoint`` made it.
    fork: bool = False
    #: Ids of this agent's checkpoints whose parent this one is, oldest first.
    child_ids: list[str] = Field(default_factory=list)
    #: The order of its first save on this agent, and its parent's as recorded (a parent is lower).
    born: int = 0
    parent_born: int = 0


class CheckpointTree(Model):
    """An agent's checkpoints as a forest: ``roots`` (no parent kept here), each node's ``child_ids``."""

    agent_id: str
    #: The checkpoint the next save continues (None before the first save, or after a delete).
    head: str | None = None
    nodes: dict[str, CheckpointNode] = Field(default_factory=dict)
    roots: list[str] = Field(default_factory=list)

    def children(self, checkpoint_id: str) -> list[str]:
        node = self.nodes.get(checkpoint_id)
        return list(node.child_ids) if node else []

    def parent(self, checkpoint_id: str) -> str | None:
        """The parent's id if the parent is one of this tree's nodes, else None."""
        node = self.nodes.get(checkpoint_id)
        if node is None or node.parent_checkpoint_id is None or node.parent_agent_id != self.agent_id:
            return None
        parent = self.nodes.get(node.parent_checkpoint_id)
        return parent.checkpoint_id if parent is not None and parent.born == node.parent_born < node.born else None

    def lineage(self, checkpoint_id: str) -> list[str]:
        """The ids from ``checkpoint_id`` up to its root, in that order."""
        out = [checkpoint_id] if checkpoint_id in self.nodes else []
        while out and (up := self.parent(out[-1])) is not None:
            out.append(up)
        return out

    def as_dict(self) -> dict[str, list[str]]:
        """Kaizen's ``get_checkpoint_tree`` shape: parent id -> child ids, for parents with children."""
        return {cid: list(n.child_ids) for cid, n in self.nodes.items() if n.child_ids}


def tree_from_reply(agent_id: str, reply: list[Any]) -> CheckpointTree:
    """``agents/checkpoint_tree``'s reply as a tree (children linked when the parent is still stored)."""
    head_text = reply[0]
    nodes: dict[str, CheckpointNode] = {}
    for i in range(1, len(reply), 4):
        cid, step, lin_text, born = reply[i], reply[i + 1], reply[i + 2], int(reply[i + 3])
        lin = orjson.loads(lin_text) if lin_text else {}
        parent = lin.get("p") or None
        nodes[cid] = CheckpointNode.model_construct(
            agent_id=agent_id,
            checkpoint_id=cid,
            step_number=int(float(step)),
            parent_checkpoint_id=parent,
            parent_agent_id=(lin.get("pa") or agent_id) if parent else None,
            fork=lin.get("f") == 1,
            child_ids=[],
            born=born,
            parent_born=int(lin.get("pb") or 0),
        )
    tree = CheckpointTree.model_construct(
        agent_id=agent_id, head=head_text.partition("|")[2] or None, nodes=nodes, roots=[]
    )
    for node in sorted(nodes.values(), key=lambda n: n.born):
        parent = nodes.get(node.parent_checkpoint_id or "") if node.parent_agent_id == agent_id else None
        if parent is not None and parent.born == node.parent_born < node.born:
            parent.child_ids.append(node.checkpoint_id)
        else:
            tree.roots.append(node.checkpoint_id)
    return tree

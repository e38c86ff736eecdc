"""Checkpoints as Redis holds them: the document a load joins (and the fields the seed's has), and the previous
release's format written raw."""

from __future__ import annotations

from typing import Any

import orjson

from agentstate_redis.backends.base import Backend

#: The fields of the seed's checkpoint document (``assert set(SEED_CHECKPOINT_FIELDS) <= set(doc)``).
SEED_CHECKPOINT_FIELDS = (
    "checkpoint_id",
    "agent_id",
    "timestamp",
    "step_number",
    "approval_history",
    "tool_usage_counts",
    "workflow_run_id",
    "workflow_state",
)


async def stored_document(backend: Backend, agent_id: str, checkpoint_id: str) -> dict[str, Any]:
    """The checkpoint's document as a load joins it: the body's members and the server's (s:<id>)."""
    k = backend.keys.agent(agent_id)
    body = await backend.client.get(k(f"ckptbody:{checkpoint_id}"))
    members = await backend.client.hget(k("checkpoints"), f"s:{checkpoint_id}")
    assert body is not None and members is not None, (agent_id, checkpoint_id)
    doc: dict[str, Any] = orjson.loads(body)
    doc.update(orjson.loads("{" + members + "}"))
    return doc


async def body_keys(backend: Backend, agent_id: str) -> list[str]:
    """The agent's checkpoint body keys (one per kept checkpoint)."""
    return sorted([key async for key in backend.scan(backend.keys.agent(agent_id)("ckptbody:*"))])


def old_document(
    agent_id: str, checkpoint_id: str, step: int, state: dict[str, Any], seq: int, parent: str | None
) -> str:
    """The whole document the previous release's save script stored in d:<id> (caller's object, then the
    server's members: saved_at, sequence, fencing_token, timestamp, tracking, lineage)."""
    body = orjson.dumps(
        {
            "checkpoint_id": checkpoint_id,
            "agent_id": agent_id,
            "step_number": step,
            "state": state,
            "recoverable": True,
            "metadata": {"old": True},
        }
    ).decode()
    iso = f'"2026-01-02T03:04:{seq:02d}.123000+00:00"'
    added = (
        f'"saved_at":{iso},"sequence":{seq},"fencing_token":null,"timestamp":{iso},'
        '"approval_history":[],"tool_usage_counts":{"Read":3},"workflow_run_id":null,"workflow_state":{},'
        '"standing_decisions":{},'
        f'"parent_checkpoint_id":{orjson.dumps(parent).decode()},'
        f'"parent_agent_id":{orjson.dumps(agent_id if parent else None).decode()}'
    )
    return body[:-1] + "," + added + "}"


async def write_old_checkpoint(
    backend: Backend, agent_id: str, checkpoint_id: str, step: int, state: dict[str, Any]
) -> None:
    """Store a checkpoint exactly as the previous release's agents/save_checkpoint did (raw commands):
    fields d:, x:, m:, r:, l: of the checkpoints hash, the order zset, the meta hash's seq and head."""
    client = backend.client
    k = backend.keys.agent(agent_id)
    seq = await client.hincrby(k.base, "seq", 1)
    head = await client.hget(k.base, "head")
    parent = head.split("|", 1)[1] if head else None
    born_parent = int(head.split("|", 1)[0]) if head else 0
    member = f"{seq:016d}|{checkpoint_id}"
    raw = orjson.dumps({"a": [], "d": {}, "t": ["Read", "3"], "w": {}}).decode()
    lineage = orjson.dumps({"b": seq, "p": parent or "", "pa": "", "pb": born_parent, "f": 0}).decode()
    await client.hset(
        k("checkpoints"),
        mapping={
            f"d:{checkpoint_id}": old_document(agent_id, checkpoint_id, step, state, seq, parent),
            f"x:{checkpoint_id}": raw,
            f"m:{checkpoint_id}": member,
            f"r:{checkpoint_id}": "1",
            f"l:{checkpoint_id}": lineage,
        },
    )
    await client.zadd(k("ckptorder"), {member: step})
    await client.hset(k.base, "head", f"{seq}|{checkpoint_id}")
    await client.hincrby(k.base, "v", 1)

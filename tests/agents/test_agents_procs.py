"""Agents manager: guarantees across real processes on one Redis."""

from __future__ import annotations

from datetime import datetime

from agentstate_redis import AgentCheckpoint, AgentStateStore, AgentTracker
from agentstate_redis.agents.models import workflow_from_doc
from agentstate_redis.backends.redis import RedisBackend

from .. import workers_agents as w
from ..procs import run_processes
from .stored import body_keys


async def test_round_trip_restored_in_another_process(redis_backend: RedisBackend, redis_url: str, prefix: str) -> None:
    store = AgentStateStore(backend=redis_backend)
    t = AgentTracker(store, "rt")
    await t.record_approval("Bash", True, "once", {"command": "ls -la"})
    await t.record_approval("Write", False, "deny_all")
    await t.record_tool_usage("Bash", 3)
    await t.update_workflow_state(
        run_id="run_1",
        status="running",
        current_node="n1",
        node_results={"n0": [1, 2.5, None, {"deep": "x"}]},
        execution_time=1.5,
    )
    ckpt = await t.capture_state({"task": "analyze", "results": [1, 2, 3]}, step=7)

    [out] = run_processes(w.restore_and_read, [(redis_url, prefix, "rt")])

    restored = AgentCheckpoint.parse(out["checkpoint"])
    restored.workflow_state = workflow_from_doc(restored.workflow_state)
    assert restored == ckpt  # datetimes parse back equal
    assert out["counts"] == {"Bash": 3}  # the other process's "Noise" was replaced by the restore
    assert out["decision"] == "denied"
    history = [{**r, "timestamp": datetime.fromisoformat(r["timestamp"])} for r in out["history"]]
    assert history == [r.model_dump() for r in ckpt.approval_history]
    workflow = {**out["workflow"], "last_updated": datetime.fromisoformat(out["workflow"]["last_updated"])}
    assert workflow == ckpt.workflow_state and isinstance(ckpt.workflow_state["last_updated"], datetime)
    assert ckpt.workflow_run_id == "run_1"


async def test_tool_usage_counts_are_exact_under_8_processes(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    n = 1000
    run_processes(w.count_tool_usage, [(redis_url, prefix, "busy", n) for _ in range(8)])
    counts = await AgentStateStore(backend=redis_backend).get_tool_usage_counts("busy")
    assert counts == {"Bash": 8 * n // 2, "Read": 8 * n // 2}


async def test_only_the_lease_holder_checkpoints(redis_backend: RedisBackend, redis_url: str, prefix: str) -> None:
    rounds = 150
    results = run_processes(w.checkpoint_with_ownership, [(redis_url, prefix, "owned", i, rounds) for i in range(4)])
    attempts = [a for worker in results for a in worker]
    accepted = {cid: token for cid, ok, token in attempts if ok}
    refused = {cid for cid, ok, _ in attempts if not ok}
    assert any(not ok and token is not None for _, ok, token in attempts), "no stale token was ever refused"
    assert any(not ok and token is None for _, ok, token in attempts), "no tokenless write met a live lease"
    assert len({cid.split("-")[0] for cid in accepted}) > 1, "ownership never changed hands"

    store = AgentStateStore(backend=redis_backend, max_checkpoints=100_000)
    stored = await store.list_checkpoints("owned")
    stored_ids = {c.checkpoint_id for c in stored}
    assert set(accepted) == stored_ids  # none accepted was lost, none refused was stored
    assert not refused & stored_ids
    # In server order, the fencing tokens of stored checkpoints never go back: a holder whose
    # lease was taken over never got a write in afterwards. (Tokenless writes are allowed
    # only while no lease is live; they carry no token.)
    by_sequence = sorted(stored, key=lambda c: c.sequence or 0)
    tokens = [c.fencing_token for c in by_sequence if c.fencing_token is not None]
    assert len(set(tokens)) > 2
    assert tokens == sorted(tokens)
    assert all(c.fencing_token == accepted[c.checkpoint_id] for c in stored)


async def test_retention_keeps_exactly_the_newest_n(redis_backend: RedisBackend, redis_url: str, prefix: str) -> None:
    keep = 10
    results = run_processes(w.save_many_checkpoints, [(redis_url, prefix, "ret", i, 60, keep) for i in range(4)])
    saved = [s for worker in results for s in worker]
    expected = [cid for cid, _, _ in sorted(saved, key=lambda s: (s[1], s[2]), reverse=True)[:keep]]
    store = AgentStateStore(backend=redis_backend)
    assert [c.checkpoint_id for c in await store.list_checkpoints("ret")] == expected
    # nothing orphaned: 6 fields per kept checkpoint (s, t, x, m, r, l) in the hash, one body key each
    assert await redis_backend.client.hlen(redis_backend.keys.agent("ret")("checkpoints")) == 6 * keep
    assert len(await body_keys(redis_backend, "ret")) == keep


async def test_recovery_attempt_limit_holds_across_processes(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    store = AgentStateStore(backend=redis_backend)
    await store.save_checkpoint(AgentCheckpoint(agent_id="rec", step=1, state={"ok": True}))
    results = run_processes(w.recover_repeatedly, [(redis_url, prefix, "rec", 6, 3) for _ in range(2)])
    outcomes = [r for worker in results for r in worker]
    assert outcomes.count("ok") == 3 and outcomes.count("refused") == 9
    assert await store.recovery_attempts("rec") == 3


async def test_four_processes_forking_and_checkpointing_keep_one_consistent_tree(
    redis_backend: RedisBackend, redis_url: str, prefix: str
) -> None:
    keep = 10
    results = run_processes(w.save_and_fork, [(redis_url, prefix, "lin", i, 50, keep) for i in range(4)])
    stored = sorted((s for worker in results for s in worker if s[0] != "gone"), key=lambda s: s[4])
    assert sum(1 for worker in results for s in worker if s[0] == "fork") > 10
    # Sequences are the agent's serial order: replaying it, every parent is the head of the line at
    # that moment (a save continues the head, a fork continues its source; both become the head).
    assert [s[4] for s in stored] == list(range(1, len(stored) + 1))
    head = None
    for op, cid, parent, _step, _seq, source in stored:
        assert parent == (source if op == "fork" else head), (op, cid, parent, head)
        head = cid
    store = AgentStateStore(backend=redis_backend)
    expected = [s[1] for s in sorted(stored, key=lambda s: (s[3], s[4]), reverse=True)[:keep]]
    assert [c.checkpoint_id for c in await store.list_checkpoints("lin")] == expected  # retention exact
    assert await redis_backend.client.hlen(redis_backend.keys.agent("lin")("checkpoints")) == 6 * keep
    assert len(await body_keys(redis_backend, "lin")) == keep
    tree = await store.get_checkpoint_tree("lin")
    parents = {s[1]: s[2] for s in stored}
    assert set(tree.nodes) == set(expected) and tree.head == stored[-1][1]
    for cid in expected:
        up = tree.parent(cid)
        assert up == (parents[cid] if parents[cid] in tree.nodes else None)
        assert (up is None) == (cid in tree.roots)
        assert all(tree.parent(child) == cid for child in tree.children(cid))

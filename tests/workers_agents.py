"""Worker functions for the agents multi-process tests (each builds its own store)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from agentstate_redis import (
    AgentCheckpoint,
    AgentRecoveryManager,
    AgentStateStore,
    AgentTracker,
    LeaseError,
    NotFoundError,
    RecoveryError,
)


def _store(redis_url: str, prefix: str, **options: Any) -> AgentStateStore:
    return AgentStateStore(persistence="redis", redis_url=redis_url, key_prefix=prefix, **options)


def count_tool_usage(redis_url: str, prefix: str, agent_id: str, n: int) -> int:
    async def main() -> int:
        async with _store(redis_url, prefix) as store:
            for i in range(n):
                await store.record_tool_usage(agent_id, "Bash" if i % 2 else "Read")
        return n

    return asyncio.run(main())


def restore_and_read(redis_url: str, prefix: str, agent_id: str) -> dict[str, Any]:
    """Restore the latest checkpoint into a fresh tracker; return what it reads back (JSON-safe)."""

    async def main() -> dict[str, Any]:
        async with _store(redis_url, prefix) as store:
            tracker = AgentTracker(store, agent_id)
            await tracker.record_tool_usage("Noise", 7)  # overwritten by the restore
            ckpt = await tracker.restore_state("latest")
            return {
                "checkpoint": ckpt.model_dump(mode="json"),
                "history": [
                    {**r, "timestamp": r["timestamp"].isoformat()} for r in await tracker.get_approval_history()
                ],
                "counts": await tracker.get_tool_usage_counts(),
                "workflow": {
                    **(wf := await tracker.get_workflow_state()),
                    "last_updated": wf["last_updated"].isoformat(),
                },
                "decision": await tracker.get_standing_decision("Write"),
            }

    return asyncio.run(main())


async def _all_started(store: AgentStateStore, key: str, workers: int) -> None:
    """Wait until every worker process is running, so their rounds really overlap
    (spawned processes start a second or more apart on a busy machine)."""
    client = store.backend.client
    await client.incr(key)
    while int(await client.get(key) or 0) < workers:
        await asyncio.sleep(0.01)


def checkpoint_with_ownership(redis_url: str, prefix: str, agent_id: str, worker: int, rounds: int) -> list[Any]:
    """Take the lease now and then, give it up now and then, and checkpoint every round with
    whatever token we last held (possibly stale, possibly none).

    Returns [(checkpoint_id, accepted, token)] for every attempt.
    """

    async def main() -> list[Any]:
        rng = random.Random(worker)
        out: list[Any] = []
        async with _store(redis_url, prefix, max_checkpoints=100_000) as store:
            await _all_started(store, f"{prefix}barrier:{agent_id}", 4)
            token: int | None = None
            for i in range(rounds):
                if rng.random() < 0.3:
                    try:
                        token = await store.acquire_lease(agent_id, f"w{worker}", ttl=10)
                    except LeaseError:
                        pass
                cid = f"w{worker}-{i}"
                try:
                    await store.save_checkpoint(
                        AgentCheckpoint(agent_id=agent_id, checkpoint_id=cid, step=1, state={"worker": worker, "i": i}),
                        fencing_token=token,
                    )
                    out.append((cid, True, token))
                except LeaseError:
                    out.append((cid, False, token))
                if token is not None and rng.random() < 0.2:
                    try:  # give it up, but keep the (soon stale) token and keep writing with it
                        await store.release_lease(agent_id, token)
                    except LeaseError:
                        pass
        return out

    return asyncio.run(main())


def save_many_checkpoints(redis_url: str, prefix: str, agent_id: str, worker: int, n: int, keep: int) -> list[Any]:
    """Save n checkpoints with random steps; return [(checkpoint_id, step, sequence)]."""

    async def main() -> list[Any]:
        rng = random.Random(1000 + worker)
        out = []
        async with _store(redis_url, prefix, max_checkpoints=keep) as store:
            for i in range(n):
                saved = await store.save_checkpoint(
                    AgentCheckpoint(
                        agent_id=agent_id, checkpoint_id=f"w{worker}-{i}", step=rng.randint(0, 30), state={"i": i}
                    )
                )
                out.append((saved.checkpoint_id, saved.step, saved.sequence))
        return out

    return asyncio.run(main())


def recover_repeatedly(redis_url: str, prefix: str, agent_id: str, tries: int, limit: int) -> list[str]:
    async def main() -> list[str]:
        results = []
        async with _store(redis_url, prefix) as store:
            manager = AgentRecoveryManager(agent_store=store, max_recovery_attempts=limit)
            for _ in range(tries):
                try:
                    await manager.recover(agent_id, "latest")
                    results.append("ok")
                except RecoveryError:
                    results.append("refused")
        return results

    return asyncio.run(main())


def save_and_fork(redis_url: str, prefix: str, agent_id: str, worker: int, n: int, keep: int) -> list[Any]:
    """Save and fork checkpoints of one agent at random; return [(op, id, parent, step, sequence, source)].

    A fork's source is one of this worker's recent checkpoints (NotFoundError when retention has
    trimmed it is counted as ("gone", source, ...)).
    """

    async def main() -> list[Any]:
        rng = random.Random(2000 + worker)
        out: list[Any] = []
        mine: list[str] = []
        async with _store(redis_url, prefix, max_checkpoints=keep) as store:
            for i in range(n):
                if mine and rng.random() < 0.4:
                    source = rng.choice(mine[-3:])
                    try:
                        c = await store.fork_from_checkpoint(agent_id, source)
                    except NotFoundError:
                        out.append(("gone", None, None, 0, 0, source))
                        continue
                    out.append(("fork", c.checkpoint_id, c.parent_checkpoint_id, c.step, c.sequence, source))
                else:
                    c = await store.save_checkpoint(
                        AgentCheckpoint(
                            agent_id=agent_id, checkpoint_id=f"w{worker}-{i}", step=rng.randint(0, 30), state={"i": i}
                        )
                    )
                    out.append(("save", c.checkpoint_id, c.parent_checkpoint_id, c.step, c.sequence, None))
                mine.append(c.checkpoint_id)
        return out

    return asyncio.run(main())

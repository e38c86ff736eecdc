"""Task memory: Redis bytes per pending task (ours vs bullmq and saq), op-id bytes per write, tombstone bytes
per finished task.

Each repeat enqueues ``tasks`` no-op tasks into an empty queue of each library in turn (ours, bullmq, saq) and
reads the server's ``used_memory`` before and after: the delta over ``tasks`` is what one pending task costs,
everything included (hash, queue entry, key names, indexes). Ours enqueues in batches of 1000
(``enqueue_tasks``), bullmq with ``addBulk``, saq with concurrent ``enqueue``; every library's default id
(ours a 32-hex uuid, bullmq a counter, saq a uuid in its key). The queue is deleted before the next one.

    python -m bench --only memory                  # 100k tasks
    python -m bench --only memory --memory-tasks 1000000
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from agentstate_redis import OrchestrationStateManager, RedisBackend

from . import peers as peers_mod
from .common import Comparison, Section, delete_prefix, run_id

BATCH = 1000
OP_WRITES = 2000  # single enqueues, each with its op id remembered for the retry window
FINISHED = 5000  # tasks completed past a completed_retention of 10: their ids become tombstones


async def used_memory(raw: aioredis.Redis) -> int:
    return int((await raw.info("memory"))["used_memory"])


async def ours_pending(url: str, raw: aioredis.Redis, n: int) -> float:
    prefix = f"benchmem{run_id()}:"
    backend = RedisBackend(url, key_prefix=prefix)
    orch = OrchestrationStateManager(backend=backend)
    try:
        await backend.connect()
        await orch.create_team("mem")
        before = await used_memory(raw)
        for start in range(0, n, BATCH):
            await orch.enqueue_tasks("mem", [{"type": "noop"} for _ in range(min(BATCH, n - start))])
        after = await used_memory(raw)
        status = await orch.get_queue_status("mem")
        assert status.pending_count == n, status.pending_count
        return (after - before) / n
    finally:
        await backend.close()
        await delete_prefix(url, f"{prefix}*")


async def peer_pending(url: str, raw: aioredis.Redis, python: str, lib: str, n: int) -> float:
    prefix = f"benchmem{run_id()}"
    before = await used_memory(raw)
    await asyncio.to_thread(
        peers_mod.run_script,
        python,
        "peer_tasks.py",
        {"lib": lib, "mode": "fill", "url": url, "prefix": prefix, "n": n},
        1800,
    )
    after = await used_memory(raw)
    await delete_prefix(url, f"*{prefix}*")
    return (after - before) / n


async def ours_bookkeeping(url: str, raw: aioredis.Redis) -> tuple[float, float]:
    """(op-id bytes per write, tombstone bytes per finished task), from MEMORY USAGE of the keys holding them."""
    prefix = f"benchmem{run_id()}:"
    backend = RedisBackend(url, key_prefix=prefix)
    orch = OrchestrationStateManager(backend=backend, completed_retention=10)
    team = backend.keys.team("mem")
    try:
        await backend.connect()
        await orch.create_team("mem")
        for _ in range(OP_WRITES):
            await orch.enqueue_task("mem", {"type": "noop"})
        ops = sum([int(await raw.memory_usage(k, samples=0) or 0) for k in (team("ops:cur"), team("ops:prev"))])
        remembered = sum([int(await raw.hlen(k)) for k in (team("ops:cur"), team("ops:prev"))])
        await orch.enqueue_tasks("mem", [{"type": "noop"} for _ in range(FINISHED - OP_WRITES)])
        while True:
            task = await orch.claim_task("mem", "w")
            if task is None:
                break
            await orch.complete_task("mem", task.id, {}, token=task.token)
        gone = int(await raw.zcard(team("gone")))
        tombstones = int(await raw.memory_usage(team("gone"), samples=0) or 0)
        return ops / max(remembered, 1), tombstones / max(gone, 1)
    finally:
        await backend.close()
        await delete_prefix(url, f"{prefix}*")


async def run(
    url: str, duration: float = 2.0, repeats: int = 3, peers_python: str | None = None, tasks: int = 100_000
) -> Section:
    del duration  # a fixed amount of work, not a timed loop
    label = f"{tasks // 1000}k" if tasks < 1_000_000 else f"{tasks / 1e6:g}M"
    sec = Section(f"Task memory ({label} pending tasks; op ids and tombstones)")
    t_start = time.perf_counter()
    raw = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        for _ in range(repeats):
            sec.add(f"ours bytes per pending task at {label}", await ours_pending(url, raw, tasks), "B")
            if peers_python:
                for lib in ("bullmq", "saq"):
                    sec.add(
                        f"{lib} bytes per pending task at {label}",
                        await peer_pending(url, raw, peers_python, lib, tasks),
                        "B",
                    )
            ops, tombstone = await ours_bookkeeping(url, raw)
            sec.add("ours op-id bytes per write (kept for the retry window)", ops, "B")
            sec.add("ours tombstone bytes per finished task (kept for the dedupe window)", tombstone, "B")
    finally:
        await raw.aclose()
    if peers_python:
        sec.comparisons.append(
            Comparison(
                f"bytes per pending task at {label} vs bullmq",
                f"ours bytes per pending task at {label}",
                f"bullmq bytes per pending task at {label}",
                "<= 1.0",
            )
        )
        sec.comparisons.append(
            Comparison(
                f"bytes per pending task at {label} vs saq",
                f"ours bytes per pending task at {label}",
                f"saq bytes per pending task at {label}",
            )
        )
    sec.notes.append(
        "used_memory delta over the enqueued tasks; every library with its default ids and no "
        "payload; op ids from MEMORY USAGE of the team's two op-id generations over the ids they "
        f"hold ({OP_WRITES} single enqueues); tombstones from MEMORY USAGE of :gone over its "
        f"members ({FINISHED} tasks completed with completed_retention=10)."
    )
    sec.seconds = time.perf_counter() - t_start
    return sec

"""Redis work per task: server CPU, script time and commands per task of one client's enqueue + process loop,
ours vs bullmq's fetch-next path, on the same server, interleaved.

Ours: ``n`` single ``enqueue_task`` calls, then one worker loop of ``complete_and_claim`` (each completion
claims the next task in the same script). bullmq: ``n`` ``Queue.add`` calls, then one ``Worker`` of
concurrency 1 (each ``moveToFinished`` fetches the next job). Read from INFO before and after: CPU
(``used_cpu_sys`` + ``used_cpu_user``, the whole server process: commands, networking, the event loop),
``total_commands_processed`` (a script's calls are counted with it) and the EVAL/EVALSHA time of
commandstats (the time inside scripts).

    python -m bench --only work
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as aioredis

from agentstate_redis import OrchestrationStateManager, RedisBackend

from . import peers as peers_mod
from .common import Comparison, Section, delete_prefix, run_id, script_usec

TASKS = 3000


async def counters(raw: aioredis.Redis) -> dict[str, float]:
    info: dict[str, Any] = await raw.info("all")
    script_us = script_usec(info)
    return {
        "cpu_us": (float(info["used_cpu_sys"]) + float(info["used_cpu_user"])) * 1e6,
        "commands": float(info["total_commands_processed"]),
        "script_us": script_us,
        "connections": float(info["total_connections_received"]),
    }


def per_task(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    return {k: (after[k] - before[k]) / n for k in before}


async def ours(url: str, raw: aioredis.Redis, n: int) -> dict[str, float]:
    prefix = f"benchwork{run_id()}:"
    backend = RedisBackend(url, key_prefix=prefix)
    orch = OrchestrationStateManager(backend=backend, completed_retention=1000)
    try:
        await backend.connect()
        await orch.create_team("work")
        await raw.config_resetstat()
        before = await counters(raw)
        for _ in range(n):
            await orch.enqueue_task("work", {"type": "noop"})
        task = await orch.claim_task("work", "w")
        done = 0
        while task is not None:
            task = await orch.complete_and_claim("work", task.id, None, token=task.token)
            done += 1
        after = await counters(raw)
        assert done == n, done
        return per_task(before, after, n)
    finally:
        await backend.close()
        await delete_prefix(url, f"{prefix}*")


async def bullmq(url: str, raw: aioredis.Redis, python: str, n: int) -> dict[str, float]:
    prefix = f"benchwork{run_id()}"
    await raw.config_resetstat()
    before = await counters(raw)
    await asyncio.to_thread(
        peers_mod.run_script,
        python,
        "peer_tasks.py",
        {"lib": "bullmq", "mode": "cycle", "url": url, "prefix": prefix, "n": n},
        600,
    )
    after = await counters(raw)
    await delete_prefix(url, f"*{prefix}*")
    return per_task(before, after, n)


async def run(
    url: str, duration: float = 2.0, repeats: int = 3, peers_python: str | None = None, tasks: int = TASKS
) -> Section:
    del duration  # a fixed number of tasks
    sec = Section("Redis work per task (enqueue + process, one client; ours vs bullmq's fetch-next path)")
    t_start = time.perf_counter()
    raw = aioredis.Redis.from_url(url, decode_responses=True)
    libs = ["ours"] + (["bullmq"] if peers_python else [])
    try:
        for _ in range(repeats):
            for lib in libs:
                got = await ours(url, raw, tasks) if lib == "ours" else await bullmq(url, raw, str(peers_python), tasks)
                sec.add(f"{lib} server CPU per task", got["cpu_us"], "µs")
                sec.add(f"{lib} script time per task", got["script_us"], "µs")
                sec.add(f"{lib} commands per task", got["commands"], "commands")
    finally:
        await raw.aclose()
    if peers_python:
        for what, target in (("server CPU", "<= 1.0"), ("script time", ""), ("commands", "")):
            sec.comparisons.append(
                Comparison(f"{what} per task vs bullmq", f"ours {what} per task", f"bullmq {what} per task", target)
            )
    sec.notes.append(
        f"{tasks} tasks per measurement; INFO deltas over the run divided by the tasks (CONFIG "
        "RESETSTAT first); commands include those a script calls."
    )
    sec.seconds = time.perf_counter() - t_start
    return sec

"""Claim cost with many capabilities: claim p50 of an agent naming 1 capability vs 50 (one of which holds
the tasks), interleaved in each repeat on the same preloaded queue.

    python -m bench --only claimcaps --no-peers
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from agentstate_redis import OrchestrationStateManager, RedisBackend

from .common import Comparison, Section, delete_prefix, pct, run_id, script_usec

CLAIMS = 1000  # per measurement; each claim is followed by an untimed completion
WIDE = 50


async def _claims(orch: OrchestrationStateManager, raw: aioredis.Redis, caps: list[str]) -> tuple[float, float]:
    """(claim p50 in µs at the client, server µs per claim from INFO commandstats) over CLAIMS claims."""
    await orch.enqueue_tasks("caps", [{"type": "work", "capability": "c0"} for _ in range(CLAIMS)])
    times: list[float] = []
    claimed = []
    await raw.config_resetstat()
    for _ in range(CLAIMS):
        t0 = time.perf_counter_ns()
        task = await orch.claim_task("caps", "w", capabilities=caps)
        times.append((time.perf_counter_ns() - t0) / 1000)
        assert task is not None
        claimed.append(task)
    stats = await raw.info("commandstats")
    server_us = script_usec(stats) / CLAIMS
    for task in claimed:
        await orch.complete_task("caps", task.id, None, token=task.token)
    return pct(times, 50), server_us


async def run(url: str, duration: float = 2.0, repeats: int = 3) -> Section:
    del duration  # a fixed number of claims
    sec = Section(f"Claim with 1 vs {WIDE} capabilities (claim_task p50)")
    t_start = time.perf_counter()
    prefix = f"benchcaps{run_id()}:"
    backend = RedisBackend(url, key_prefix=prefix)
    orch = OrchestrationStateManager(backend=backend, completed_retention=100)
    narrow, wide = ["c0"], [f"c{i}" for i in range(WIDE)]
    raw = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        await backend.connect()
        await orch.create_team("caps")
        await _claims(orch, raw, wide)  # warm-up: scripts loaded, connections open
        for _ in range(repeats):
            for label, caps in (("1 capability", narrow), (f"{WIDE} capabilities", wide)):
                client_us, server_us = await _claims(orch, raw, caps)
                sec.add(f"claim p50, {label}", client_us, "µs")
                sec.add(f"server script time per claim, {label}", server_us, "µs")
    finally:
        await backend.close()
        await raw.aclose()
        await delete_prefix(url, f"{prefix}*")
    sec.comparisons.append(
        Comparison(
            f"claim with {WIDE} capabilities vs 1",
            f"claim p50, {WIDE} capabilities",
            "claim p50, 1 capability",
            "<= 1.15",
        )
    )
    sec.comparisons.append(
        Comparison(
            f"server time per claim, {WIDE} capabilities vs 1",
            f"server script time per claim, {WIDE} capabilities",
            "server script time per claim, 1 capability",
        )
    )
    sec.notes.append(
        f"{CLAIMS} claims per figure on a queue preloaded with {CLAIMS} tasks of capability c0 (completed "
        f"after the timed claims); the wide agent names c0..c{WIDE - 1}; server time = EVAL/EVALSHA "
        "usec of INFO commandstats over the claims (CONFIG RESETSTAT first)."
    )
    sec.seconds = time.perf_counter() - t_start
    return sec

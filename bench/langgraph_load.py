"""The LangGraph checkpointer load, shared by our process and the peers' (imports only langgraph-checkpoint).

    >>> figures = await measure(saver, "small", duration=2.0, tasks=64)
    {'seq_p50_ms': ..., 'seq_p99_ms': ..., 'pairs_per_s': ...}

One "pair" is ``aput`` of a checkpoint whose one channel holds the state, then ``aget_tuple`` of the
thread's latest checkpoint (what a graph step costs a checkpointer). Sequential: one task, the
latency of each pair. Throughput: ``tasks`` tasks, each on its own thread. Every put makes a new
checkpoint (parent = the previous one); the channel's version cycles over VERSIONS values, so a
thread holds at most that many state blobs (memory stays bounded; a saver that skips re-writing a
blob it already has, as the Postgres saver's ON CONFLICT DO NOTHING does, is favoured by this).
"""

from __future__ import annotations

import asyncio
import random
import string
import time
import uuid
from typing import Any

from langgraph.checkpoint.base import empty_checkpoint

VERSIONS = 4
SIZES = {"small": 200, "100 KB": 100_000}


def make_state(size: int, seed: int = 1) -> dict[str, Any]:
    """A conversation-shaped state of about ``size`` characters."""
    rnd = random.Random(seed)
    messages: list[dict[str, str]] = []
    total = 0
    while total < size:
        text = "".join(rnd.choices(string.ascii_letters + "     ", k=min(400, max(20, size - total))))
        messages.append({"role": rnd.choice(["user", "assistant", "tool"]), "content": text})
        total += len(text) + 30
    return {"messages": messages, "step": 0}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


async def _pairs(saver: Any, thread_id: str, state: dict[str, Any], end: float, latencies: list[float] | None) -> int:
    """Pairs on one thread until ``end`` (a shared perf_counter deadline: a saver that never yields,
    as InMemorySaver, then runs its tasks one after the other within the same window)."""
    parent, n = None, 0
    latest = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    while time.perf_counter() < end:
        cp = empty_checkpoint()
        version = n % VERSIONS + 1
        cp["channel_versions"] = {"state": version}
        cp["channel_values"] = {"state": state}
        config: dict[str, Any] = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        if parent:
            config["configurable"]["checkpoint_id"] = parent
        t0 = time.perf_counter()
        stored = await saver.aput(config, cp, {"source": "loop", "step": n, "parents": {}}, {"state": version})
        got = await saver.aget_tuple(latest)
        if latencies is not None:
            latencies.append((time.perf_counter() - t0) * 1000)
        assert got is not None and got.checkpoint["id"] == cp["id"]
        parent = stored["configurable"]["checkpoint_id"]
        n += 1
    return n


async def measure(saver: Any, size: str, duration: float, tasks: int = 64) -> dict[str, float]:
    state = make_state(SIZES[size])
    tag = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    await _pairs(saver, f"warm-{tag}", state, time.perf_counter() + min(0.3, duration / 4), None)
    await _pairs(saver, f"seq-{tag}", state, time.perf_counter() + duration, latencies)
    start = time.perf_counter()
    end = start + duration
    counts = await asyncio.gather(*(_pairs(saver, f"par-{tag}-{i}", state, end, None) for i in range(tasks)))
    elapsed = time.perf_counter() - start
    elapsed = elapsed if elapsed > 0 else duration  # this VM's clock has been seen to step back
    for thread_id in [f"warm-{tag}", f"seq-{tag}", *(f"par-{tag}-{i}" for i in range(tasks))]:
        await saver.adelete_thread(thread_id)
    return {"seq_p50_ms": pct(latencies, 50), "seq_p99_ms": pct(latencies, 99), "pairs_per_s": sum(counts) / elapsed}

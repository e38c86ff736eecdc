"""Checkpoints: save and load latency of 1 KB to 5 MB agent checkpoints vs raw redis-py, forks, Redis memory."""

from __future__ import annotations

import random
import string
import time
from typing import Any

import orjson
import redis.asyncio as aioredis

from agentstate_redis import RedisBackend
from agentstate_redis.agents import AgentCheckpoint, AgentStateStore

from .common import Comparison, Section, delete_prefix, pct, run_id

SIZES = {"1 KB": 1_000, "100 KB": 100_000, "1 MB": 1_000_000, "5 MB": 5_000_000}
#: Checkpoint ids cycled by the latency loop (below the default retention of 50); fewer for big states.
IDS = {"1 KB": 20, "100 KB": 20, "1 MB": 4, "5 MB": 4}
#: Sizes whose forks and Redis memory are measured too.
FORK_SIZES = ("1 KB", "100 KB")
#: Issue 24's targets: ours / raw redis-py (orjson.dumps + SET, GET + orjson.loads), medians of p50s.
SAVE_TARGET, LOAD_TARGET = "<= 2", "<= 1.2"


def make_state(size: int, seed: int = 1) -> dict[str, Any]:
    """A conversation-shaped state of about ``size`` bytes of JSON."""
    rnd = random.Random(seed)
    messages: list[dict[str, Any]] = []
    state: dict[str, Any] = {"tokens_used": 15000, "plan": ["search", "read", "summarise"], "messages": messages}
    while len(orjson.dumps(state)) < size:
        text = "".join(rnd.choices(string.ascii_letters + "     ", k=400))
        messages.append({"role": rnd.choice(["user", "assistant", "tool"]), "content": text})
    return state


async def _latency(
    sec: Section, store: AgentStateStore, raw: Any, prefix: str, label: str, state: dict[str, Any], seconds: float
) -> None:
    """Ours (save_checkpoint, get_checkpoint by id) and raw redis-py (orjson.dumps + SET, GET + orjson.loads)
    interleaved, one of each per turn; p50 and worst of this repeat, and this repeat's ratios."""
    clock = time.perf_counter_ns
    agent = f"lat{label.replace(' ', '')}"
    times: dict[str, list[int]] = {"save": [], "load": [], "raw save": [], "raw load": []}
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end or i < 5:
        cid = f"c{i % IDS[label]}"
        key = f"{prefix}raw:{label}:{cid}"
        t0 = clock()
        await store.save_checkpoint(AgentCheckpoint(agent_id=agent, checkpoint_id=cid, step=i, state=state))
        t1 = clock()
        await store.get_checkpoint(agent, cid)
        t2 = clock()
        await raw.set(key, orjson.dumps(state))
        t3 = clock()
        orjson.loads(await raw.get(key))
        t4 = clock()
        for name, took in (("save", t1 - t0), ("load", t2 - t1), ("raw save", t3 - t2), ("raw load", t4 - t3)):
            times[name].append(took)
        i += 1
    for name, values in times.items():
        sec.add(f"{name} {label} p50", pct(values, 50) / 1e6, "ms")
        sec.add(f"{name} {label} worst", max(values) / 1e6, "ms")
    for op in ("save", "load"):
        sec.add(f"{op} {label} / raw (this repeat's p50s)", pct(times[op], 50) / pct(times[f"raw {op}"], 50), "x")


async def run(url: str, duration: float = 2.0, repeats: int = 3) -> Section:
    sec = Section("Checkpoints (AgentStateStore.save_checkpoint / get_checkpoint)")
    t_start = time.perf_counter()
    prefix = f"bench{run_id()}:"
    backend = RedisBackend(url, key_prefix=prefix)
    store = AgentStateStore(backend=backend)
    raw = aioredis.Redis.from_url(url, decode_responses=True)
    states = {label: make_state(size) for label, size in SIZES.items()}
    clock = time.perf_counter_ns
    for label in SIZES:
        sec.comparisons.append(
            Comparison(
                f"save {label} p50 vs raw dumps + SET", f"save {label} p50", f"raw save {label} p50", SAVE_TARGET
            )
        )
        sec.comparisons.append(
            Comparison(
                f"load {label} p50 vs raw GET + loads", f"load {label} p50", f"raw load {label} p50", LOAD_TARGET
            )
        )
    try:
        await backend.connect()
        for rep in range(repeats):
            for label, st in states.items():
                await _latency(sec, store, raw, prefix, label, st, duration / len(states))
                body = len(orjson.dumps(st))
                sec.fig(f"{label} state JSON size", "KiB").samples.append(body / 1024)
                if label not in FORK_SIZES:
                    continue
                agent = f"lat{label.replace(' ', '')}"
                # lineage: a fork in the agent (one script) and into a new agent (a read, then one script)
                # (on agents of their own: forks keep the source's high step and would crowd the loop's out)
                forks: dict[str, list[int]] = {"in the agent": [], "into a new agent": []}
                lines = f"{agent}lines{rep}"
                await store.fork_from_checkpoint(agent, "latest", lines)
                for j in range(50):
                    t0 = clock()
                    await store.fork_from_checkpoint(lines, "latest")
                    t1 = clock()
                    await store.fork_from_checkpoint(agent, "latest", f"{agent}f{rep}-{j}")
                    forks["in the agent"].append(t1 - t0)
                    forks["into a new agent"].append(clock() - t1)
                for kind, times in forks.items():
                    sec.add(f"fork {label} {kind} p50", pct(times, 50) / 1e6, "ms")
                    sec.add(f"fork {label} {kind} worst", max(times) / 1e6, "ms")
                # memory: K fresh checkpoints of a fresh agent, INFO used_memory delta and MEMORY USAGE of its keys
                k = 10
                magent = f"mem{label.replace(' ', '')}r{rep}"
                before = int((await raw.info("memory"))["used_memory"])
                for j in range(k):
                    await store.save_checkpoint(
                        AgentCheckpoint(agent_id=magent, checkpoint_id=f"m{j}", step=j, state=st)
                    )
                after = int((await raw.info("memory"))["used_memory"])
                usage = 0
                async for key in raw.scan_iter(match=f"{prefix}*{magent}*", count=1000):
                    usage += int(await raw.memory_usage(key, samples=0) or 0)
                sec.add(f"memory per {label} checkpoint (MEMORY USAGE)", usage / k / 1024, "KiB")
                sec.add(f"memory per {label} checkpoint (used_memory delta)", (after - before) / k / 1024, "KiB")
    finally:
        await backend.close()
        await delete_prefix(url, f"{prefix}*")
        await raw.aclose()
    sec.notes.append(
        "state is a conversation-shaped dict (messages of 400 characters); latency loop cycles "
        f"{IDS} checkpoint ids of one agent, interleaved with raw redis-py (orjson.dumps + SET, "
        "GET + orjson.loads, decode_responses=True like ours) on the same server; 'worst' is the "
        "slowest call of a repeat; forks and memory (10 fresh checkpoints of a fresh agent) at "
        f"{', '.join(FORK_SIZES)}."
    )
    sec.seconds = time.perf_counter() - t_start
    return sec

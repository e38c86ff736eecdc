"""Checkpoints: save and load latency of 10 KB and 200 KB agent checkpoints, and Redis memory per checkpoint."""

from __future__ import annotations

import random
import string
import time
from typing import Any

import orjson
import redis.asyncio as aioredis

from agentstate_redis import RedisBackend
from agentstate_redis.agents import AgentCheckpoint, AgentStateStore

from .common import Section, delete_prefix, pct, run_id

SIZES = {"10 KB": 10_000, "200 KB": 200_000}
IDS = 20  # checkpoint ids cycled by the latency loop (below the default retention of 50)


def make_state(size: int, seed: int = 1) -> dict[str, Any]:
    """A conversation-shaped state of about ``size`` bytes of JSON."""
    rnd = random.Random(seed)
    messages: list[dict[str, Any]] = []
    state: dict[str, Any] = {"tokens_used": 15000, "plan": ["search", "read", "summarise"], "messages": messages}
    while len(orjson.dumps(state)) < size:
        text = "".join(rnd.choices(string.ascii_letters + "     ", k=400))
        messages.append({"role": rnd.choice(["user", "assistant", "tool"]), "content": text})
    return state


async def run(url: str, duration: float = 2.0, repeats: int = 3) -> Section:
    sec = Section("Checkpoints (AgentStateStore.save_checkpoint / get_checkpoint)")
    t_start = time.perf_counter()
    prefix = f"bench{run_id()}:"
    backend = RedisBackend(url, key_prefix=prefix)
    store = AgentStateStore(backend=backend)
    raw = aioredis.Redis.from_url(url, decode_responses=True)
    states = {label: make_state(size) for label, size in SIZES.items()}
    clock = time.perf_counter_ns
    try:
        await backend.connect()
        for rep in range(repeats):
            for label, st in states.items():
                agent = f"lat{label.replace(' ', '')}"
                saves: list[int] = []
                loads: list[int] = []
                end = time.perf_counter() + duration / len(states)
                i = 0
                while time.perf_counter() < end:
                    cid = f"c{i % IDS}"
                    t0 = clock()
                    await store.save_checkpoint(AgentCheckpoint(agent_id=agent, checkpoint_id=cid, step=i, state=st))
                    t1 = clock()
                    await store.get_checkpoint(agent, cid)
                    t2 = clock()
                    saves.append(t1 - t0)
                    loads.append(t2 - t1)
                    i += 1
                sec.add(f"save {label} p50", pct(saves, 50) / 1e6, "ms")
                sec.add(f"load {label} p50", pct(loads, 50) / 1e6, "ms")
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
                body = len(orjson.dumps(st))
                sec.fig(f"{label} state JSON size", "KiB").samples.append(body / 1024)
    finally:
        await backend.close()
        await delete_prefix(url, f"{prefix}*")
        await raw.aclose()
    sec.notes.append("state is a conversation-shaped dict (messages of 400 characters); latency loop cycles "
                     f"{IDS} checkpoint ids of one agent; memory from 10 fresh checkpoints of a fresh agent.")
    sec.seconds = time.perf_counter() - t_start
    return sec

"""LangGraph checkpointers: aput + aget_tuple of a small and a 100 KB state, ours against LangGraph's own.

Ours (AsyncCheckpointSaver on the bench's Redis) runs in this process; the Postgres saver (the
PostgreSQL on 127.0.0.1:5432, or BENCH_POSTGRES_URL), the SQLite saver and InMemorySaver (the
limit: no I/O at all) run in the peers' virtualenv (bench/peer_langgraph.py), in the same run,
interleaved repeat by repeat. Figures: sequential p50 of one pair (ms) and pairs/s with 64 tasks,
median of the repeats; the worst repeat is in the notes. Targets (issue 20): 64-task throughput
>= 2x the Postgres saver's, sequential p50 no higher than the Postgres saver's.
"""

from __future__ import annotations

import asyncio
import time

from agentstate_redis import RedisBackend
from agentstate_redis.langgraph import AsyncCheckpointSaver

from . import peers as peers_mod
from .common import Comparison, Section, delete_prefix, run_id
from .langgraph_load import SIZES, measure

TASKS = 64
PEERS = ("postgres", "sqlite", "memory")
LABELS = {"ours": "ours", "postgres": "Postgres saver", "sqlite": "SQLite saver", "memory": "InMemorySaver"}


def _record(sec: Section, who: str, size: str, got: dict[str, float], tasks: int) -> None:
    sec.add(f"{LABELS[who]} {size}: sequential p50", got["seq_p50_ms"], "ms")
    sec.add(f"{LABELS[who]} {size}: {tasks}-task throughput", got["pairs_per_s"], "pairs/s", better="higher")


async def run(
    url: str, duration: float = 2.0, repeats: int = 3, peers_python: str | None = None, tasks: int = TASKS
) -> Section:
    sec = Section("LangGraph checkpointers (aput + aget_tuple)")
    t_start = time.perf_counter()
    prefix = f"benchlg{run_id()}:"
    backend = RedisBackend(url, key_prefix=prefix)
    saver = AsyncCheckpointSaver(backend=backend)
    versions: dict[str, str] = {}
    try:
        await backend.connect()
        for _ in range(repeats):
            for size in SIZES:
                _record(sec, "ours", size, await measure(saver, size, duration, tasks), tasks)
            if peers_python:
                got = await asyncio.to_thread(
                    peers_mod.run_script,
                    peers_python,
                    "peer_langgraph.py",
                    {"duration": duration, "tasks": tasks, "savers": list(PEERS)},
                    600,
                )
                versions = got.pop("versions")
                for key, figures in got.items():
                    who, size = key.split("/", 1)
                    _record(sec, who, size, figures, tasks)
    finally:
        await backend.close()
        await delete_prefix(url, prefix + "*")
    for size in SIZES:
        ours_tp, ours_p50 = f"ours {size}: {tasks}-task throughput", f"ours {size}: sequential p50"
        for who in PEERS:
            tp, p50 = f"{LABELS[who]} {size}: {tasks}-task throughput", f"{LABELS[who]} {size}: sequential p50"
            target = who == "postgres"
            sec.comparisons.append(
                Comparison(f"{size} throughput, ours / {LABELS[who]}", ours_tp, tp, ">= 2" if target else "")
            )
            sec.comparisons.append(
                Comparison(f"{size} sequential p50, ours / {LABELS[who]}", ours_p50, p50, "<= 1" if target else "")
            )
    worst = []
    for f in sec.figures.values():
        value = min(f.samples) if f.better == "higher" else max(f.samples)
        worst.append(f"{f.name} {value:.3g} {f.unit}")
    sec.notes.append("worst repeat: " + "; ".join(worst))
    sec.notes.append(
        f"{tasks} tasks each on its own thread; one AsyncPostgresSaver on a pool of {tasks} "
        "connections (the saver serialises its operations with one asyncio.Lock); "
        f"peers: {', '.join(f'{k} {v}' for k, v in versions.items()) or 'skipped'}"
    )
    if not peers_python:
        sec.notes.append("peers skipped (--no-peers or no peers virtualenv): no comparison")
    sec.seconds = time.perf_counter() - t_start
    return sec

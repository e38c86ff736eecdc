"""The claim path's cost before and after a change: claim p50 and queue throughput at 4 workers.

    python -m bench.claim_path --url redis://127.0.0.1:6379/0 --base /tmp/main-checkout --repeats 5

``--base`` is a checkout of the code to compare with (``git archive main | tar -x -C DIR``). Each
repeat runs one measurement of the base, then one of this tree (alternating, so drift hits both),
each in a fresh process importing its own ``agentstate_redis`` and ``lua/``:

- claim p50: one process claims 3000 preloaded no-op tasks one ``claim_task`` at a time (no limits,
  no delayed tasks, team not paused), each followed by an untimed complete; the p50 of the claims.
- throughput: 4 worker processes run ``complete_and_claim`` over a preloaded queue for
  ``--duration`` s; completed tasks per second.

Prints each figure's median and worst over the repeats, and this/base ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _manager(url: str, prefix: str):  # type: ignore[no-untyped-def]
    from agentstate_redis import OrchestrationStateManager, RedisBackend

    return OrchestrationStateManager(backend=RedisBackend(url, key_prefix=prefix), completed_retention=1000)


async def _claims(url: str, n: int) -> float:
    prefix = f"bcp{uuid.uuid4().hex[:8]}:"
    async with _manager(url, prefix) as orch:
        await orch.create_team("b")
        await orch.enqueue_tasks("b", [{"type": "noop"} for _ in range(n)])
        times = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            task = await orch.claim_task("b", "w", lease=30)
            times.append(time.perf_counter_ns() - t0)
            await orch.complete_task("b", task.id, None, token=task.token)
        await orch.backend.client.delete(*[k async for k in orch.backend.client.scan_iter(f"{prefix}*")])
    return statistics.median(times) / 1000


def _worker(url: str, prefix: str, index: int, duration: float, out: multiprocessing.Queue[int]) -> None:
    async def run() -> int:
        async with _manager(url, prefix) as orch:
            task = await orch.claim_task("b", f"w{index}", lease=30)
            done, end = 0, time.monotonic() + duration
            while task is not None and time.monotonic() < end:
                task = await orch.complete_and_claim("b", task.id, None, token=task.token, lease=30)
                done += 1
            return done

    out.put(asyncio.run(run()))


async def _prepare(url: str, prefix: str, n: int) -> None:
    async with _manager(url, prefix) as orch:
        await orch.create_team("b")
        await orch.enqueue_tasks("b", [{"type": "noop"} for _ in range(n)])


async def _cleanup(url: str, prefix: str) -> None:
    async with _manager(url, prefix) as orch:
        keys = [k async for k in orch.backend.client.scan_iter(f"{prefix}*")]
        for i in range(0, len(keys), 500):
            await orch.backend.client.delete(*keys[i : i + 500])


def _throughput(url: str, duration: float, workers: int = 4) -> float:
    prefix = f"bcq{uuid.uuid4().hex[:8]}:"
    asyncio.run(_prepare(url, prefix, 60_000))
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[int] = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, prefix, i, duration, out)) for i in range(workers)]
    for p in procs:
        p.start()
    total = sum(out.get(timeout=duration + 60) for _ in procs)
    for p in procs:
        p.join()
    asyncio.run(_cleanup(url, prefix))
    return total / duration


def measure(url: str, duration: float) -> dict[str, float]:
    """One measurement of the code this process imports."""
    return {"claim_p50_us": asyncio.run(_claims(url, 3000)), "throughput_4w": _throughput(url, duration)}


def _run(tree: Path, url: str, duration: float) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    code = (
        f"import json, sys; sys.path.insert(0, {str(HERE)!r}); from bench.claim_path import measure; "
        f"print(json.dumps(measure({url!r}, {duration!r})))"
    )
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=str(tree))
    if res.returncode != 0:
        raise SystemExit(f"measurement in {tree} failed:\n{res.stderr[-2000:]}")
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert isinstance(got, dict)
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--base", required=True, type=Path, help="checkout of the code to compare with")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--duration", type=float, default=3.0)
    args = ap.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
    for i in range(args.repeats):
        for name, tree in (("base", args.base), ("this", HERE)):
            runs[name].append(_run(tree, args.url, args.duration))
            print(f"repeat {i + 1} {name}: {runs[name][-1]}", flush=True)
    for figure, worse in (("claim_p50_us", max), ("throughput_4w", min)):
        base = [r[figure] for r in runs["base"]]
        this = [r[figure] for r in runs["this"]]
        ratio = statistics.median(this) / statistics.median(base)
        print(
            f"{figure}: base median {statistics.median(base):.1f} worst {worse(base):.1f}; "
            f"this median {statistics.median(this):.1f} worst {worse(this):.1f}; this/base {ratio:.3f}"
        )


if __name__ == "__main__":
    main()

"""Tracing: the cost of OpenTelemetry on the queue path, not installed vs installed but idle vs recording.

Each mode runs in its own process (``tracing_proc.py``: "not installed" needs an interpreter where
``import opentelemetry`` fails, "enabled" a global tracer provider), sequentially against the same
server, the modes interleaved within each repeat. A cycle is enqueue + claim + handler + complete
(four spans when enabled). Figures: the cycle's median and worst latency per mode; ratios to "not
installed". Target from the issue: no cost when not installed (the methods are the plain functions,
which ``tests/worker/test_tracing.py`` checks), near zero when installed and idle.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .common import Comparison, Section, delete_prefix, run_id

HERE = Path(__file__).resolve().parent
MODES = (("absent", "not installed"), ("disabled", "installed, no provider"), ("enabled", "enabled, SDK"))


def one(mode: str, url: str, prefix: str, duration: float) -> dict[str, float]:
    args = {"mode": mode, "url": url, "prefix": prefix, "duration": duration}
    out = subprocess.run(
        [sys.executable, "-m", "bench.tracing_proc", json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=HERE.parent,
        timeout=120 + duration * 2,
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench.tracing_proc {mode} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


async def run(url: str, duration: float = 2.0, repeats: int = 3) -> Section:
    import time

    sec = Section("Tracing overhead on the queue path (enqueue + claim + handler + complete)")
    t0 = time.perf_counter()
    prefix = f"bench{run_id()}:"
    try:
        for _ in range(repeats):
            for mode, label in MODES:
                r = one(mode, url, prefix, duration)
                sec.add(f"cycle p50 ({label})", r["p50_us"], "us")
                sec.add(f"cycle p99 ({label})", r["p99_us"], "us")
                sec.add(f"cycle worst ({label})", r["max_us"], "us")
                sec.add(f"cycles/s ({label})", r["cycles"] / duration, "cycles/s", "higher")
                sec.add(f"decorated call without I/O ({label})", r["per_call_ns"], "ns")
    finally:
        await delete_prefix(url, prefix + "*")
    for stat in ("p50", "worst"):
        sec.comparisons.append(
            Comparison(
                f"installed, no provider / not installed ({stat})",
                f"cycle {stat} (installed, no provider)",
                f"cycle {stat} (not installed)",
            )
        )
        sec.comparisons.append(
            Comparison(
                f"enabled / not installed ({stat})", f"cycle {stat} (enabled, SDK)", f"cycle {stat} (not installed)"
            )
        )
    sec.notes.append(
        "'decorated call without I/O': an enqueue-shaped coroutine that returns at once, decorated as "
        "enqueue_task is (best of 3 x 20000 calls): the plain function when not installed, one check "
        "and one call when no provider is set, a PRODUCER span and the context injection when enabled."
    )
    sec.notes.append(
        "Each mode in its own process, one after the other on the same server; enabled uses the SDK's "
        "BatchSpanProcessor with an exporter that drops spans (the instrumentation's cost, not an "
        "exporter's). Worst is the slowest cycle of a repeat: it mostly measures the shared machine and, when "
        "enabled, the garbage collector's passes over the spans the batch processor holds."
    )
    sec.seconds = time.perf_counter() - t0
    return sec

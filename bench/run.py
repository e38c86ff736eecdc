"""``python -m bench``: run every scenario against one server and write bench/RESULTS.md + bench/results.json.

python -m bench                          # own Redis (embedded helper), peers venv made on demand
python -m bench --url redis://host:7000/0 --repeats 5 --duration 3
python -m bench --only core,queue --no-peers
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata as md
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from . import (
    checkpoints,
    claim_caps,
    cluster_queue,
    core_state,
    dashboard,
    lg_savers,
    schedules,
    subscriptions,
    task_memory,
    task_queue,
    task_work,
    tool_cache,
    tracing,
)
from . import peers as peers_mod
from .common import Section, loadavg, server

HERE = Path(__file__).resolve().parent
SCENARIOS = (
    "core",
    "queue",
    "events",
    "checkpoints",
    "toolcache",
    "langgraph",
    "dashboard",
    "schedules",
    "tracing",
    "cluster",
    "claimcaps",
    "work",
    "memory",
)  # the keys of scenarios(), in order


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
    }


async def server_info(url: str) -> dict[str, Any]:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        info = await client.info("server")
        return {
            "redis_version": info.get("redis_version"),
            "server_name": info.get("server_name", "redis"),
            "valkey_version": info.get("valkey_version"),
        }
    finally:
        await client.aclose()


def lib_versions() -> dict[str, str]:
    out = {}
    for name in ("agentstate-redis", "redis", "hiredis", "orjson", "pydantic"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "-"
    rb = "-"
    try:
        rb = subprocess.run(["redis-benchmark", "--version"], capture_output=True, text=True).stdout.strip() or "-"
    except OSError:
        pass
    out["redis-benchmark"] = rb
    return out


def fmt(v: float) -> str:
    if v != v:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def summary_rows(sections: list[dict[str, Any]]) -> list[str]:
    rows = ["| target | measured (median) | worst repeat | target | met |", "|---|---|---|---|---|"]
    for s in sections:
        for c in s["comparisons"]:
            if c["target"]:
                met = {True: "yes", False: "**no**", None: "-"}[c["met"]]
                rows.append(
                    f"| {c['label']} | {fmt(c['ratio'])}x | {fmt(c.get('worst', float('nan')))}x | "
                    f"{c['target']}x | {met} |"
                )
        for t in s["targets"]:
            met = {True: "yes", False: "**no**", None: "-"}[t["met"]]
            rows.append(f"| {t['figure']} | {fmt(t['value'])} ms | | {t['target']} ms | {met} |")
    return rows


def markdown(doc: dict[str, Any], analysis: str) -> str:
    env = doc["environment"]
    lines = [
        "# Benchmark results",
        "",
        f"`python -m bench {' '.join(doc['argv'])}`".replace(" `", "`") + f" on {doc['started']} "
        f"({doc['seconds']:.0f} s). Each figure is the median of {doc['repeats']} repeats of "
        f"{doc['duration']} s; comparison pairs run interleaved (ours, theirs, ours, ...) on the same server.",
        "",
        f"- machine: {env['machine']['cpu']}, {env['machine']['cores']} cores, {env['machine']['memory']}, "
        f"{env['machine']['platform']}, Python {env['machine']['python']}",
        f"- server: {env['server'].get('server_name')} {env['server'].get('redis_version')} "
        f"({'own, embedded helper' if env['own_server'] else 'given URL'}, loopback TCP)",
        f"- libraries: {', '.join(f'{k} {v}' for k, v in env['libraries'].items())}",
        f"- peers: {', '.join(f'{k} {v}' for k, v in env['peers'].items()) or 'skipped'}",
        f"- load average (1/5/15 min): before {env['load_before']}, after {env['load_after']} "
        "(other jobs were running on this machine: figures are noisy)",
        "",
        "## Targets",
        "",
    ]
    lines += summary_rows(doc["sections"])
    lines += [""]
    if analysis:
        lines += [analysis.strip(), ""]
    for s in doc["sections"]:
        lines += [f"## {s['title']}", "", "| figure | median | unit | repeats |", "|---|---|---|---|"]
        for f in s["figures"]:
            lines.append(
                f"| {f['name']} | {fmt(f['median'])} | {f['unit']} | {', '.join(fmt(x) for x in f['samples'])} |"
            )
        if s["comparisons"]:
            lines += ["", "| ratio (ours / theirs) | median | worst repeat | target |", "|---|---|---|---|"]
            for c in s["comparisons"]:
                lines.append(
                    f"| {c['label']} | {fmt(c['ratio'])}x | {fmt(c.get('worst', float('nan')))}x | "
                    f"{c['target'] or ''} |"
                )
        for n in s["notes"]:
            lines += ["", f"_{n}_"]
        lines += ["", f"({s['seconds']} s)", ""]
    return "\n".join(lines) + "\n"


Scenario = Callable[[], Awaitable[Section]]


def scenarios(args: argparse.Namespace, url: str, peers_python: str | None) -> dict[str, Scenario]:
    """Each scenario's run, by its ``--only`` name, in the order they run."""
    d, r = args.duration, args.repeats
    return {
        "core": lambda: core_state.run(url, d, r, peers_python),
        "queue": lambda: task_queue.run(url, d, r, peers_python),
        "events": lambda: subscriptions.run(url, d, r),
        "checkpoints": lambda: checkpoints.run(url, d, r),
        "toolcache": lambda: tool_cache.run(url, d, r),
        "langgraph": lambda: lg_savers.run(url, d, r, peers_python),
        "dashboard": lambda: dashboard.run(url, d, r),
        "schedules": lambda: schedules.run(url, d, r),
        "tracing": lambda: tracing.run(url, d, r),
        "cluster": lambda: cluster_queue.run(url, d, r),
        "claimcaps": lambda: claim_caps.run(url, d, r),
        "work": lambda: task_work.run(url, d, r, peers_python),
        "memory": lambda: task_memory.run(url, d, r, peers_python, args.memory_tasks),
    }


async def run_all(args: argparse.Namespace, url: str, peers_python: str | None) -> list[Section]:
    only = set(args.only.split(",")) if args.only else set(SCENARIOS)
    sections: list[Section] = []
    for name, run in scenarios(args, url, peers_python).items():
        if name in only:
            sections.append(await run())
            print(f"  {sections[-1].title}: {sections[-1].seconds:.0f} s", flush=True)
    return sections


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--url", help="Redis URL to use (default: start a private server with the embedded helper)")
    p.add_argument("--duration", type=float, default=2.0, help="seconds per measurement (default 2)")
    p.add_argument("--repeats", type=int, default=3, help="repeats per figure; the median is reported (default 3)")
    p.add_argument("--only", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    p.add_argument(
        "--memory-tasks",
        type=int,
        default=100_000,
        help="pending tasks per library in the memory scenario (default 100000; the issue's 1M: 1000000)",
    )
    p.add_argument("--no-peers", action="store_true", help="skip agenticaiframework / bullmq / saq (no PyPI needed)")
    p.add_argument("--out", default=str(HERE), help="directory for RESULTS.md and results.json (default bench/)")
    p.add_argument(
        "--render", action="store_true", help="only rewrite RESULTS.md from results.json (+ ANALYSIS.md) in --out"
    )
    args = p.parse_args(argv)
    if args.render:
        out = Path(args.out)
        doc = json.loads((out / "results.json").read_text())
        analysis_file = HERE / "ANALYSIS.md"
        (out / "RESULTS.md").write_text(markdown(doc, analysis_file.read_text() if analysis_file.exists() else ""))
        return 0
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    t0 = time.perf_counter()
    load_before = loadavg()
    peers_python = None if args.no_peers else peers_mod.ensure_peers()
    peer_versions = peers_mod.versions(peers_python) if peers_python else {}
    with server(args.url) as url:
        srv = asyncio.run(server_info(url))
        print(
            f"bench: {srv.get('server_name')} {srv.get('redis_version')} at {url}; "
            f"{args.repeats} x {args.duration} s per figure",
            flush=True,
        )
        sections = asyncio.run(run_all(args, url, peers_python))
    doc = {
        "argv": argv,
        "started": started,
        "seconds": time.perf_counter() - t0,
        "duration": args.duration,
        "repeats": args.repeats,
        "environment": {
            "machine": machine(),
            "server": srv,
            "own_server": not args.url,
            "libraries": lib_versions(),
            "peers": peer_versions,
            "load_before": load_before,
            "load_after": loadavg(),
        },
        "sections": [s.as_dict() for s in sections],
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    analysis_file = HERE / "ANALYSIS.md"
    analysis = analysis_file.read_text() if analysis_file.exists() else ""
    (out / "RESULTS.md").write_text(markdown(doc, analysis))
    print("\n".join(summary_rows(doc["sections"])))
    print(f"wrote {out / 'RESULTS.md'} and {out / 'results.json'} in {doc['seconds']:.0f} s")
    return 0

"""Keeps bench/ from rotting: every scenario runs briefly against the test server (no timing assertions).

Peer comparisons (agenticaiframework, bullmq, saq) need the peers virtualenv, which needs
network installs, so they are skipped here; ``python -m bench`` runs them.
"""

from __future__ import annotations

import math

import pytest

from bench import (
    checkpoints,
    core_state,
    lg_savers,
    run,
    schedules,
    subscriptions,
    task_memory,
    task_queue,
    tool_cache,
)
from bench.common import Comparison, Figure, Section

pytestmark = pytest.mark.timeout(120)


def _check(sec: Section, *names: str) -> None:
    doc = sec.as_dict()
    assert doc["figures"], sec.title
    for name in names:
        value = sec.figures[name].median
        assert value == value and not math.isinf(value) and value > 0, (name, value)
    run.markdown(
        {
            "argv": [],
            "started": "",
            "seconds": 0,
            "duration": 0,
            "repeats": 1,
            "environment": {
                "machine": run.machine(),
                "server": {},
                "own_server": True,
                "libraries": {},
                "peers": {},
                "load_before": [],
                "load_after": [],
            },
            "sections": [doc],
        },
        "",
    )


async def test_core_state(redis_url: str) -> None:
    sec = await core_state.run(redis_url, duration=0.2, repeats=1, peers_python=None, tasks=8)
    _check(
        sec,
        "ours save p50 (sequential)",
        "raw redis-py HSET p50 (sequential)",
        "ours ops/s (8 tasks)",
        "ours ops/s (8 tasks, autopipeline off)",
    )


async def test_task_queue(redis_url: str) -> None:
    sec = await task_queue.run(redis_url, duration=0.3, repeats=1, peers_python=None, worker_counts=(1,))
    _check(sec, "ours tasks/s (1 workers)", "ours wake-up p50")


async def test_subscriptions(redis_url: str) -> None:
    sec = await subscriptions.run(redis_url, duration=0.3, repeats=1)
    _check(sec, "ours event latency p50")


async def test_checkpoints(redis_url: str) -> None:
    sec = await checkpoints.run(redis_url, duration=0.2, repeats=1)
    _check(
        sec,
        "save 1 KB p50",
        "raw save 5 MB p50",
        "load 5 MB p50",
        "load 1 MB / raw (this repeat's p50s)",
        "memory per 100 KB checkpoint (MEMORY USAGE)",
    )


async def test_task_memory(redis_url: str) -> None:
    sec = await task_memory.run(redis_url, repeats=1, peers_python=None, tasks=2000)
    _check(
        sec,
        "ours bytes per pending task at 2k",
        "ours op-id bytes per write (kept for the retry window)",
        "ours tombstone bytes per finished task (kept for the dedupe window)",
    )


def test_a_comparison_reports_its_worst_repeat() -> None:
    figures = {"a": Figure("a", "ms", samples=[2.0, 3.0, 2.0]), "b": Figure("b", "ms", samples=[2.0, 2.0, 1.0])}
    assert Comparison("a/b", "a", "b", "<= 1.3").worst(figures) == 2.0
    assert Comparison("a/b", "a", "b", ">= 1").worst(figures) == 1.0
    figures["a"].better = "higher"
    assert Comparison("a/b", "a", "b").worst(figures) == 1.0


async def test_tool_cache(redis_url: str) -> None:
    sec = await tool_cache.run(redis_url, duration=0.2, repeats=1, tasks=8)
    _check(sec, "get_cached_result p50", "raw redis-py HGETALL p50")


async def test_langgraph_savers(redis_url: str) -> None:
    sec = await lg_savers.run(redis_url, duration=0.2, repeats=1, peers_python=None, tasks=8)
    _check(sec, "ours small: sequential p50", "ours 100 KB: 8-task throughput")


def test_a_clock_that_steps_back_does_not_make_a_negative_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """A smoke run once measured -5266 tasks/s: perf_counter went back during the sleep on this VM."""
    from bench import common

    monkeypatch.setattr(common.time, "perf_counter", lambda: 99.5)
    assert common.elapsed_since(100.0, 0.3) == 0.3
    monkeypatch.setattr(common.time, "perf_counter", lambda: 100.25)
    assert common.elapsed_since(100.0, 0.3) == 0.25


async def test_dashboard(redis_url: str) -> None:
    from bench import dashboard

    sec = await dashboard.run(redis_url, duration=0.1, repeats=1, tasks=2_000)
    _check(sec, "team page (first 50 pending) p50", "seeding rate", "/metrics p50")


async def test_schedules(redis_url: str) -> None:
    sec = await schedules.run(redis_url, duration=0.3, repeats=1, schedulers=2)
    _check(sec, "tick lateness p50 (2 schedulers, every 50 ms)", "pass claiming one due tick p50", "enqueue_task p50")


async def test_cluster_queue() -> None:
    from bench import cluster_queue

    sec = await cluster_queue.run(None, duration=0.2, repeats=1, tasks=6, fill_per_team=300)
    _check(sec, "server: enqueue", "cluster: drain (claim + complete)", "ratio cluster / server: drain")


async def test_tracing(redis_url: str) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from bench import tracing

    sec = await tracing.run(redis_url, duration=0.2, repeats=1)
    _check(
        sec,
        "cycle p50 (not installed)",
        "cycle worst (installed, no provider)",
        "cycle p50 (enabled, SDK)",
        "decorated call without I/O (enabled, SDK)",
    )


def test_every_scenario_is_named_once() -> None:
    args = run.argparse.Namespace(duration=1.0, repeats=1, memory_tasks=10)
    assert tuple(run.scenarios(args, "redis://unused", None)) == run.SCENARIOS

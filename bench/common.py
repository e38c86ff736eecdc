"""What every scenario shares: figures with repeats, comparisons, percentiles, the server, timed loops."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def median(values: list[float]) -> float:
    clean = [v for v in values if v == v]
    return statistics.median(clean) if clean else float("nan")


@dataclass
class Figure:
    """One measured quantity; ``samples`` holds one value per repeat, the report shows their median."""

    name: str
    unit: str
    better: str = "lower"  # or "higher"
    samples: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return median(self.samples)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "better": self.better,
            "median": self.median,
            "samples": self.samples,
            "note": self.note,
        }


@dataclass
class Comparison:
    """ours / theirs (medians); ``target`` like ``"<= 1.3"`` or ``">= 3"`` when the issue sets one."""

    label: str
    ours: str
    theirs: str
    target: str = ""

    def ratio(self, figures: dict[str, Figure]) -> float:
        a, b = figures.get(self.ours), figures.get(self.theirs)
        if a is None or b is None or not b.median or b.median != b.median:
            return float("nan")
        return a.median / b.median

    def worst(self, figures: dict[str, Figure]) -> float:
        """The worst repeat's ratio: repeat i of ours over repeat i of theirs (the pairs ran interleaved),
        the largest when lower is better (or the target is ``<=``), else the smallest."""
        a, b = figures.get(self.ours), figures.get(self.theirs)
        if a is None or b is None:
            return float("nan")
        ratios = [x / y for x, y in zip(a.samples, b.samples, strict=False) if y and x == x and y == y]
        if not ratios:
            return float("nan")
        lower_is_better = self.target.startswith("<=") if self.target else a.better == "lower"
        return max(ratios) if lower_is_better else min(ratios)

    def met(self, figures: dict[str, Figure]) -> bool | None:
        if not self.target:
            return None
        r = self.ratio(figures)
        if r != r:
            return None
        op, _, value = self.target.partition(" ")
        return r <= float(value) if op == "<=" else r >= float(value)


@dataclass
class Section:
    """The result of one scenario."""

    title: str
    figures: dict[str, Figure] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)
    absolute_targets: list[tuple[str, str, float]] = field(default_factory=list)  # (figure, "<", limit)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def fig(self, name: str, unit: str, better: str = "lower", note: str = "") -> Figure:
        if name not in self.figures:
            self.figures[name] = Figure(name, unit, better, note=note)
        return self.figures[name]

    def add(self, name: str, value: float, unit: str, better: str = "lower") -> None:
        self.fig(name, unit, better).samples.append(value)

    def as_dict(self) -> dict[str, Any]:
        comps = []
        for c in self.comparisons:
            comps.append(
                {
                    "label": c.label,
                    "ours": c.ours,
                    "theirs": c.theirs,
                    "ratio": c.ratio(self.figures),
                    "worst": c.worst(self.figures),
                    "target": c.target,
                    "met": c.met(self.figures),
                }
            )
        targets = []
        for name, op, limit in self.absolute_targets:
            f = self.figures.get(name)
            value = f.median if f else float("nan")
            targets.append(
                {
                    "figure": name,
                    "target": f"{op} {limit}",
                    "value": value,
                    "met": (value < limit) if value == value else None,
                }
            )
        return {
            "title": self.title,
            "seconds": round(self.seconds, 1),
            "figures": [f.as_dict() for f in self.figures.values()],
            "comparisons": comps,
            "targets": targets,
            "notes": self.notes,
        }


def script_usec(info: dict[str, Any]) -> float:
    """Microseconds spent in EVAL/EVALSHA (scripts, their calls included) in an INFO commandstats (or all) reply."""
    return sum(float(v["usec"]) for k, v in info.items() if k.startswith("cmdstat_eval") and isinstance(v, dict))


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


@contextlib.contextmanager
def server(url: str | None) -> Iterator[str]:
    """The given URL, or a private server started with the library's embedded helper."""
    if url:
        yield url
        return
    from agentstate_redis import EmbeddedRedis

    with EmbeddedRedis() as srv:
        yield srv.url


def elapsed_since(start: float, planned: float) -> float:
    """Seconds since ``start`` (a ``time.perf_counter()``), or ``planned`` if the clock stepped back:
    this project's VM has been seen to, and a rate over a negative interval means nothing."""
    elapsed = time.perf_counter() - start
    return elapsed if elapsed > 0 else planned


async def timed_loop(duration: float, step: Callable[[], Awaitable[None]]) -> int:
    """Call ``step`` until ``duration`` seconds have passed; returns how many calls completed."""
    end = time.perf_counter() + duration
    n = 0
    while time.perf_counter() < end:
        await step()
        n += 1
    return n


async def concurrent_loop(
    duration: float, tasks: int, make_step: Callable[[int], Callable[[], Awaitable[None]]]
) -> tuple[int, float]:
    """``tasks`` coroutines each looping their step for ``duration`` s; (calls completed, elapsed)."""
    start = time.perf_counter()
    counts = await asyncio.gather(*(timed_loop(duration, make_step(i)) for i in range(tasks)))
    return sum(counts), elapsed_since(start, duration)


async def delete_prefix(url: str, pattern: str) -> None:
    """Remove a run's keys (SCAN + UNLINK): the bench leaves a server it was given as it found it."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        batch = []
        async for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 500:
                await client.unlink(*batch)
                batch = []
        if batch:
            await client.unlink(*batch)
    finally:
        await client.aclose()

"""Task queue: enqueue + claim + complete of no-op tasks with 1, 4 and 8 worker processes,
ours vs bullmq and saq on the same server, and the wake-up latency of a blocking claim.

For each worker count, every library's producer and workers are started once (see
``queue_proc.py``); idle workers block in their library's dequeue and cost nothing. Then
each repeat lets one library's producer run at a time (ours, bullmq, saq, ours, ...):
warm up, count completions over ``duration`` s, pause the producer, wait for the backlog
to drain. Throughput = completed tasks / s with the producer keeping <= 200 outstanding.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .common import Comparison, Section, delete_prefix, elapsed_since, run_id
from .queue_proc import (
    BACKLOG,
    CMD,
    ENQUEUED,
    P50,
    P99,
    PRODUCER_READY,
    READY0,
    ROUNDS,
    SAMPLES,
    SLOTS,
    Shm,
)

HERE = Path(__file__).resolve().parent
BACKLOG_LIMIT = 200
WARMUP = 0.5


class Group:
    """One library's processes for one measurement, and their shared-memory file."""

    def __init__(self, lib: str, python: str, url: str, queue: str, roles: list[tuple[str, int]], **extra: Any) -> None:
        self.lib, self.queue = lib, queue
        fd, self.path = tempfile.mkstemp(prefix=f"bench-{lib}-")
        os.write(fd, b"\0" * SLOTS * 8)
        os.close(fd)
        self.shm = Shm(self.path)
        self.shm.set(BACKLOG, BACKLOG_LIMIT)
        self.workers = sum(1 for role, _ in roles if role == "worker")
        self.procs = []
        self.logs = tempfile.TemporaryFile()  # noqa: SIM115 - open while the processes run; closed in stop()
        for role, index in roles:
            args = {
                "lib": lib,
                "role": role,
                "url": url,
                "queue": queue,
                "shm": self.path,
                "index": index,
                "workers": self.workers,
                **extra,
            }
            import json

            self.procs.append(
                subprocess.Popen(
                    [python, str(HERE / "queue_proc.py"), json.dumps(args)], stdout=subprocess.DEVNULL, stderr=self.logs
                )
            )
        self.n_ready = len(roles)

    def ready(self) -> bool:
        n = self.shm.get(PRODUCER_READY) + sum(self.shm.get(READY0 + i) for i in range(max(self.workers, 1)))
        return n >= self.n_ready

    def check(self) -> None:
        for p in self.procs:
            if p.poll() is not None:
                self.logs.seek(0)
                err = self.logs.read().decode(errors="replace")
                raise RuntimeError(f"{self.lib} queue process exited ({p.returncode}): {err[-1500:]}")

    def done(self) -> int:
        return self.shm.done(self.workers)

    def stop(self) -> None:
        self.shm.set(CMD, 2)
        deadline = time.time() + 10
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        os.unlink(self.path)
        self.logs.close()


def wait_ready(groups: list[Group], timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while not all(g.ready() for g in groups):
        for g in groups:
            g.check()
        if time.time() > deadline:
            raise RuntimeError("queue processes did not get ready in time")
        time.sleep(0.05)


def throughput(g: Group, duration: float) -> float:
    g.shm.set(CMD, 1)
    time.sleep(WARMUP)
    c0, t0 = g.done(), time.perf_counter()
    time.sleep(duration)
    c1, elapsed = g.done(), elapsed_since(t0, duration)
    g.shm.set(CMD, 0)
    deadline = time.time() + 15
    time.sleep(0.01)
    while g.done() < g.shm.get(ENQUEUED) and time.time() < deadline:
        g.check()
        time.sleep(0.01)
    return (c1 - c0) / elapsed


def wake_round(g: Group, timeout: float) -> tuple[float, float, int]:
    rounds = g.shm.get(ROUNDS)
    g.shm.set(CMD, 1)
    deadline = time.time() + timeout
    while g.shm.get(ROUNDS) == rounds:
        g.check()
        if time.time() > deadline:
            raise RuntimeError(f"{g.lib} wake-up round did not finish")
        time.sleep(0.02)
    return g.shm.get(P50) / 1e6, g.shm.get(P99) / 1e6, g.shm.get(SAMPLES)


@contextlib.contextmanager
def groups_of(makers: list[Any]) -> Iterator[list[Group]]:
    groups: list[Group] = []
    try:
        for make in makers:
            groups.append(make())
        wait_ready(groups)
        yield groups
    finally:
        for g in groups:
            g.stop()


async def run(
    url: str,
    duration: float = 2.0,
    repeats: int = 3,
    peers_python: str | None = None,
    worker_counts: tuple[int, ...] = (1, 4, 8),
    wake: bool = True,
) -> Section:
    sec = Section("Task queue (enqueue + claim + complete, no-op tasks)")
    t_start = time.perf_counter()
    rid = run_id()
    libs = [("ours", sys.executable)]
    if peers_python:
        libs += [("bullmq", peers_python), ("saq", peers_python)]
    queues: list[str] = []
    try:
        for workers in worker_counts:
            makers = []
            for lib, py in libs:
                queue = f"bq{rid}{lib}{workers}"
                queues.append(queue)
                roles = [("producer", 0)] + [("worker", i) for i in range(workers)]
                makers.append(lambda lib=lib, py=py, queue=queue, roles=roles: Group(lib, py, url, queue, roles))
            with groups_of(makers) as groups:
                for _ in range(repeats):
                    for g in groups:
                        sec.add(f"{g.lib} tasks/s ({workers} workers)", throughput(g, duration), "tasks/s", "higher")
        if wake:
            makers = []
            for lib, py in libs:
                queue = f"bq{rid}{lib}wake"
                queues.append(queue)
                makers.append(
                    lambda lib=lib, py=py, queue=queue: Group(
                        lib, py, url, queue, [("waker", 0), ("waiter", 0)], duration=duration
                    )
                )
            with groups_of(makers) as groups:
                for _ in range(repeats):
                    for g in groups:
                        p50, p99, n = wake_round(g, duration * 5 + 30)
                        sec.add(f"{g.lib} wake-up p50", p50, "ms")
                        sec.add(f"{g.lib} wake-up p99", p99, "ms")
                        sec.add(f"{g.lib} wake-up samples", n, "", "higher")
    finally:
        for q in queues:
            await delete_prefix(url, f"*{q}*")
    for workers in worker_counts:
        for peer, target in (("bullmq", ">= 1.5" if workers == 4 else ""), ("saq", ">= 1" if workers == 4 else "")):
            if peers_python:
                sec.comparisons.append(
                    Comparison(
                        f"tasks/s at {workers} workers / {peer}",
                        f"ours tasks/s ({workers} workers)",
                        f"{peer} tasks/s ({workers} workers)",
                        target,
                    )
                )
    if wake:
        sec.absolute_targets.append(("ours wake-up p50", "<", 2.0))
        for peer in ("bullmq", "saq"):
            if peers_python:
                sec.comparisons.append(Comparison(f"wake-up p50 / {peer}", "ours wake-up p50", f"{peer} wake-up p50"))
    sec.notes.append(
        f"one consumer per worker process; a producer process keeps <= {BACKLOG_LIMIT} tasks outstanding "
        "(8 coroutines, one enqueue call per task); bullmq keeps the last 1000 completed jobs like ours. "
        "Ours completes a task and claims the next in one script (complete_and_claim), as bullmq's "
        "worker fetches its next job when it completes one. "
        "Wake-up: from just before the enqueue call (another process) to the blocked claim returning "
        "the task, pauses of 2-6 ms between tasks."
    )
    sec.seconds = time.perf_counter() - t_start
    return sec

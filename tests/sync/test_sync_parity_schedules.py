"""The blocking face of schedules: run_scheduler's twin matches the async one, and a plain script
adds a schedule and runs the scheduler until a threading.Event is set (issue 22, item 4)."""

from __future__ import annotations

import inspect
import threading
import time

import agentstate_redis.sync as sync
from agentstate_redis.worker import run_scheduler as async_run_scheduler


def test_run_scheduler_twin() -> None:
    assert inspect.signature(sync.run_scheduler) == inspect.signature(async_run_scheduler)
    assert sync.run_scheduler.__doc__ == async_run_scheduler.__doc__
    assert not inspect.iscoroutinefunction(sync.run_scheduler)
    for name in (
        "add_schedule",
        "remove_schedule",
        "pause_schedule",
        "resume_schedule",
        "list_schedules",
        "run_due_schedules",
    ):
        assert not inspect.iscoroutinefunction(getattr(sync.OrchestrationStateManager, name)), name


def test_a_blocking_scheduler_enqueues_ticks_until_stopped(redis_url: str, prefix: str) -> None:
    orch = sync.OrchestrationStateManager(persistence="redis", redis_url=redis_url, key_prefix=prefix)
    try:
        orch.create_team("t")
        orch.add_schedule("t", "beat", {"type": "beat"}, every=0.1, catchup="all")
        stop = threading.Event()
        threading.Timer(0.8, stop.set).start()
        started = time.monotonic()
        stats = sync.run_scheduler(orch, "t", stop=stop)
        assert time.monotonic() - started < 8
        ids = [t.id for t in orch.list_tasks("t", "pending", limit=100)]
        assert stats.enqueued == len(ids) >= 3 and all(i.startswith("beat@") for i in ids)
        (s,) = orch.list_schedules("t")
        assert s.runs == len(ids)
    finally:
        orch.close()

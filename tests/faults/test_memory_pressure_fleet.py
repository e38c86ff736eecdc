"""A fleet on a server that fills up and is freed again: worker processes (run_worker, and the
`agentstate worker` command) hold their leases and finish what they hold while it is full, back off
instead of crashing, and drain the queue once memory is freed, each task completed exactly once.
`agentstate health` fails, naming the reason, while writes are refused."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from agentstate_redis import BackendOutOfMemoryError, EmbeddedRedis, OrchestrationStateManager, RedisBackend

from ..agentstate_process import start_agentstate
from ..memory_pressure import SMALL_NOEVICTION, Pressure
from ..procs import run_processes
from ..waiting import eventually
from ..workers_memory import fleet_worker

TEAM = "fleet"


@pytest.fixture(scope="module")
def oom_server() -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(extra_args=SMALL_NOEVICTION) as server:
        yield server


def agentstate(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentstate_redis.cli", *args], capture_output=True, text=True, timeout=60, **kwargs
    )  # type: ignore[call-overload]


async def test_worker_fleet_holds_its_leases_and_drains_after_memory_is_freed(
    oom_server: EmbeddedRedis, pressure: Pressure, prefix: str
) -> None:
    """Three worker processes; each task's work (1.2 s) outlives its lease (1 s), so only heartbeats keep
    it. The server fills while they work: the tasks in hand are completed (the completions run), no new
    task is claimed, and a coordinator's reaps during the whole full period find no expired lease (the
    heartbeats ran). Freed, the fleet drains the queue: every task handled once and completed once, with
    one attempt and no stall, and no worker crashed or lost a result."""
    total, work, lease = 18, 1.2, 1.0
    backend = RedisBackend(oom_server.url, key_prefix=prefix)
    orch = OrchestrationStateManager(backend=backend)
    ids = [f"task-{i:02d}" for i in range(total)]
    try:
        await orch.create_team(TEAM)
        await orch.enqueue_tasks(TEAM, [{"id": i} for i in ids])
        fleet = asyncio.ensure_future(
            asyncio.to_thread(
                run_processes,
                fleet_worker,
                [(oom_server.url, prefix, TEAM, f"pod-{n}", total, work, lease) for n in range(3)],
                180,
            )
        )

        async def some_completed() -> bool:
            status = await orch.get_queue_status(TEAM, page_size=0)
            return status.completed_total >= 3 and status.in_progress_count > 0

        await eventually(some_completed, timeout=60, what="the fleet at work", fleet=fleet)
        with pressure.full():
            held = {t.id for t in await orch.list_tasks(TEAM, "in_progress")}
            at_fill = await orch.get_queue_status(TEAM, page_size=0)
            with pytest.raises(BackendOutOfMemoryError):
                await orch.enqueue_task(TEAM, {"id": "late"})
            deadline = time.monotonic() + 3 * work
            while time.monotonic() < deadline:  # a coordinator reaping all along: no lease expires
                assert (await orch.reap(TEAM))["stalled"] == 0
                await asyncio.sleep(0.1)
            full = await orch.get_queue_status(TEAM, page_size=0)
            completed = {t.id for t in await orch.list_tasks(TEAM, "completed", limit=100)}
            assert not fleet.done(), "a worker stopped while the server was full"
        assert held and held <= completed, "the tasks in hand when the server filled were finished"
        assert full.in_progress_count == 0 and full.pending_count == at_fill.pending_count, "no claim while full"

        results = await fleet
        status = await orch.get_queue_status(TEAM, page_size=0)
        assert (
            status.completed_total,
            status.pending_count,
            status.in_progress_count,
            status.scheduled_count,
            status.dead_count,
        ) == (total, 0, 0, 0, 0)
        handled = [i for r in results for i in r["handled"]]
        assert sorted(handled) == ids, "each task handled exactly once"
        done = await orch.list_tasks(TEAM, "completed", limit=100)
        assert sorted(t.id for t in done) == ids
        assert all(t.attempts == 1 and t.stalls == 0 for t in done)
        assert sum(r["stats"]["completed"] for r in results) == total
        assert all(r["stats"]["lost"] == 0 for r in results)
    finally:
        await backend.close()


async def test_agentstate_worker_waits_out_a_full_server(
    oom_server: EmbeddedRedis, pressure: Pressure, prefix: str
) -> None:
    """`agentstate worker` started on a full server neither exits nor writes; once memory is freed it joins
    the team, works the queue, and exits 0 on SIGTERM."""
    backend = RedisBackend(oom_server.url, key_prefix=prefix)
    orch = OrchestrationStateManager(backend=backend)
    worker = ["worker", "--team", TEAM, "--agent-id", "pod-x", "--work-seconds", "0.01", "--claim-wait", "0.3"]
    proc: subprocess.Popen[str] | None = None
    lines: list[str] = []
    try:
        await orch.create_team(TEAM)
        await orch.enqueue_tasks(TEAM, [{"id": f"t{i}"} for i in range(5)])
        with pressure.full():
            proc = start_agentstate(oom_server.url, prefix, *worker, "--log-level", "WARNING")
            assert proc.stdout is not None
            reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
            reader.start()
            # the worker has met the full server once it says its join was refused (however slowly it started)
            await eventually(
                lambda: any("joining team" in line for line in lines),
                timeout=60,
                what="the worker to be refused joining the team on the full server",
            )
            assert proc.poll() is None, "the worker exited on a full server"
            assert "pod-x" not in (await orch.get_team(TEAM)).agents

        async def drained() -> bool:
            return (await orch.get_queue_status(TEAM, page_size=0)).completed_total == 5

        await eventually(drained, timeout=30, what="the worker to drain the queue after memory was freed")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=10)
        out = "".join(lines)
        assert proc.returncode == 0, out
        assert "stopped (claimed 5, completed 5" in out
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        await backend.close()


def test_health_fails_while_writes_are_refused(oom_server: EmbeddedRedis, pressure: Pressure) -> None:
    """`agentstate health` makes a real write: over maxmemory it exits 1 with one line saying so, and 0 again
    once memory is freed. (It used to run only a read, and said ok on a full server.)"""
    with pressure.full():
        full = agentstate("health", "--redis-url", oom_server.url)
    assert full.returncode == 1 and full.stdout.startswith("unhealthy: writes refused: the server is over maxmemory")
    assert len(full.stdout.strip().splitlines()) == 1
    ok = agentstate("health", "--redis-url", oom_server.url)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: ") and "a write applied" in ok.stdout


def test_health_fails_on_a_read_only_replica(oom_server: EmbeddedRedis) -> None:
    """A replica answers PING and runs read scripts, but takes no write: unhealthy, naming it."""
    with EmbeddedRedis(extra_args=["--replicaof", "127.0.0.1", str(oom_server.port)]) as replica:
        out = agentstate("health", "--redis-url", replica.url)
    assert out.returncode == 1 and out.stdout.startswith("unhealthy: writes refused: the server is a read-only replica")

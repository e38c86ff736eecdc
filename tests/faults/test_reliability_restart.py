"""Server restarts under a running fleet: AOF durability, reconnects, script reloads.

* ``appendfsync always``: a fleet of worker processes (task queue + core state) runs
  while the server is SIGKILLed and restarted, then stopped (SIGTERM) and restarted.
  The workers reconnect on their own (tenacity), the scripts reload after NOSCRIPT,
  no acknowledged write is lost, and every task is completed exactly once.
* ``always`` vs ``everysec``: writers record every acknowledged write, the server is
  SIGKILLed under that load and restarted from its AOF; what survived is compared
  with what was acknowledged, against the write rate measured in the same run.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from agentstate_redis import (
    EmbeddedRedis,
    OrchestrationStateManager,
    RedisBackend,
    StateManager,
)
from agentstate_redis.embedded import free_port
from agentstate_redis.scripts import ScriptLibrary

from ..procs import run_processes
from ..waiting import eventually
from ..workers_reliability import acked_writer, fleet_worker
from .fleet_checks import assert_each_task_completed_once, assert_no_acknowledged_write_lost

pytestmark = pytest.mark.slow

TEAM = "fleet"
WORKERS = 4
BATCH = 300  # tasks enqueued before the kill, after it, and after the graceful restart


def _server(tmp_path: Path, fsync: str) -> EmbeddedRedis:
    return EmbeddedRedis(free_port(), data_dir=tmp_path / "data", appendonly=True, appendfsync=fsync)


def _recoveries(results: list[dict[str, Any]], down: float, up: float) -> list[float]:
    """Per worker: seconds from the server answering again to that worker's first acknowledged call
    after the outage (the longest pause in its calls that overlaps the time the server was down)."""
    out = []
    for r in results:
        gaps = [(end - start, end) for start, end in r["gaps"] if start < up and end > down]
        if gaps:
            out.append(max(0.0, max(gaps)[1] - up))
    return out


async def test_fleet_survives_kill9_and_restart_with_aof_always(tmp_path: Path, prefix: str) -> None:
    server = _server(tmp_path, "always").start()
    url = server.url
    backend = RedisBackend(url, key_prefix=prefix, retry_seconds=45)
    orch = OrchestrationStateManager(backend=backend, completed_retention=10_000)
    state = StateManager(backend=backend)
    ids = [f"t{i}" for i in range(3 * BATCH)]
    try:
        await orch.create_team(TEAM)
        await state.save("counter", {"n": 0})
        await orch.enqueue_tasks(TEAM, [{"id": t} for t in ids[:BATCH]])

        async def completed(n: int) -> bool:
            return (await orch.get_queue_status(TEAM, page_size=0)).completed_total >= n

        args = [(url, prefix, TEAM, f"w{i}", "counter", "done") for i in range(WORKERS)]
        fleet = asyncio.ensure_future(asyncio.to_thread(run_processes, fleet_worker, args, 240))

        # 1. SIGKILL under load (a third of the first batch done), down for a second, restart
        await eventually(lambda: completed(BATCH // 3), timeout=120.0, what="the fleet to get going", fleet=fleet)
        killed = time.time()
        server.stop(kill=True)
        await asyncio.sleep(1.0)
        server.start()
        up1 = time.time()
        await orch.enqueue_tasks(TEAM, [{"id": t} for t in ids[BATCH : 2 * BATCH]])

        # 2. graceful stop (SIGTERM: the server fsyncs and exits) under load, restart
        await eventually(
            lambda: completed(BATCH + BATCH // 3), timeout=120.0, what="work after the first restart", fleet=fleet
        )
        stopped = time.time()
        server.stop()
        await asyncio.sleep(0.5)
        server.start()
        up2 = time.time()
        assert server.process is not None
        restarted_pid = server.process.pid
        await orch.enqueue_tasks(TEAM, [{"id": t} for t in ids[2 * BATCH :]])
        await state.save("done", {"at": time.time()})
        results: list[dict[str, Any]] = await fleet

        await assert_each_task_completed_once(orch, TEAM, ids, results)
        increments = await assert_no_acknowledged_write_lost(state, "counter", results)

        # the scripts were reloaded (EVAL after NOSCRIPT) on the restarted server, and stay cached there.
        # The server asked is the process started above (a port freed by a restart can be taken by
        # another server on a shared machine); the INFO figures explain a failure.
        shas = [ScriptLibrary.default()[name].sha for name in ("orchestration/claim", "state/update")]
        with redis.Redis.from_url(url, decode_responses=True) as raw:
            info = raw.info("all")
            scripts = {
                k: info.get(k)
                for k in (
                    "process_id",
                    "uptime_in_seconds",
                    "number_of_cached_scripts",
                    "evicted_scripts",
                    "cmdstat_eval",
                    "cmdstat_evalsha",
                )
            }
            assert info["process_id"] == restarted_pid, f"another server answers on {url}: {scripts}"
            assert raw.script_exists(*shas) == [True, True], f"scripts not cached after the restart: {scripts}"

        first = _recoveries(results, killed, up1)
        second = _recoveries(results, stopped, up2)
        print(
            f"\nrestart(always): {len(ids)} tasks, {increments} CAS increments "
            f"({sum(r['conflicts'] for r in results)} conflicts), {sum(r['calls'] for r in results)} calls; "
            f"kill -9: down {up1 - killed:.2f}s, workers back {max(first):.2f}s after the server "
            f"(min {min(first):.2f}s); SIGTERM: down {up2 - stopped:.2f}s, back {max(second):.2f}s after; "
            f"refused late completions: {sum(len(r['refused']) for r in results)}"
        )
        assert len(first) == WORKERS, "every worker must have ridden through the kill -9 outage"
    finally:
        await backend.close()
        server.cleanup()


@pytest.mark.parametrize("fsync", ["always", "everysec"])
async def test_kill9_loses_at_most_the_fsync_window(tmp_path: Path, prefix: str, fsync: str) -> None:
    """Acknowledged writes vs what a SIGKILLed server replays from its AOF.

    ``always``: nothing acknowledged is lost. ``everysec``: at most about one second of
    writes (Redis documents up to two when the disk stalls) — and only on a host crash
    or power loss: a killed *process* leaves its AOF writes in the OS page cache, so in
    practice a kill -9 loses nothing in either mode.
    """
    server = _server(tmp_path, fsync).start()
    url = server.url
    writers = 3
    try:
        args = [(url, prefix, f"w{i}", 60.0) for i in range(writers)]
        load = asyncio.ensure_future(asyncio.to_thread(run_processes, acked_writer, args, 120))
        with redis.Redis.from_url(url, decode_responses=True) as raw:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and raw.dbsize() < 1000:
                await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)  # a steady write load
        server.stop(kill=True)
        results = await load
        server.start()
        acked = sum(r["acked"] for r in results)
        assert all(r["error"] for r in results), "every writer must have been cut off by the kill"
        span = max(r["last"] for r in results) - min(r["first"] for r in results)
        rate = acked / span
        backend = RedisBackend(url, key_prefix=prefix)
        state = StateManager(backend=backend)
        try:
            names = [f"{r['writer']}:{n}" for r in results for n in range(r["acked"])]
            with redis.Redis.from_url(url) as raw:
                pipe = raw.pipeline(transaction=False)
                for name in names:
                    pipe.exists(backend.keys.state(name).base)
                present = pipe.execute()
            lost = len(names) - sum(present)
            for name in names[:: max(1, len(names) // 50)]:  # what survived is what was written
                value = await state.get(name)
                assert value is None or value["n"] == int(name.split(":")[1])
        finally:
            await backend.close()
        print(
            f"\nkill -9 with appendfsync {fsync}: {acked} writes acknowledged at {rate:.0f}/s "
            f"over {span:.1f}s, {lost} lost ({lost / rate:.3f}s worth)"
        )
        if fsync == "always":
            assert lost == 0
        else:
            assert lost <= 2.0 * rate  # one fsync period, two when the disk stalls
    finally:
        server.cleanup()


async def test_a_claim_blocked_while_the_server_restarts_waits_for_it(tmp_path: Path, prefix: str) -> None:
    server = _server(tmp_path, "always").start()
    worker = OrchestrationStateManager(backend=RedisBackend(server.url, key_prefix=prefix, retry_seconds=45))
    producer = OrchestrationStateManager(backend=RedisBackend(server.url, key_prefix=prefix, retry_seconds=45))
    try:
        await producer.create_team(TEAM)
        claim = asyncio.ensure_future(worker.claim_task(TEAM, "idle-worker", wait=30))
        await asyncio.sleep(0.5)  # the claim found nothing and is blocked in BLPOP
        assert not claim.done()
        server.stop(kill=True)
        await asyncio.sleep(1.0)
        server.start()
        await producer.enqueue_task(TEAM, {"id": "after-restart"})
        task = await asyncio.wait_for(claim, 60)
        assert task is not None and task.id == "after-restart"
    finally:
        await worker.backend.close()
        await producer.backend.close()
        server.cleanup()


@pytest.mark.parametrize("entity", ["team", "state"])
async def test_a_retry_after_many_writes_to_the_same_entity_applies_once(
    redis_url: str, prefix: str, entity: str
) -> None:
    """The first attempt applies, its reply is lost, 200 other writes hit the entity, tenacity retries.

    What a restart does to a busy team: every worker retries at once. With a de-duplication
    window of a fixed number of op ids per entity (128 before the window became time-based,
    see lua/lib/core.lua), the retry was applied a second time: a completion the server had
    accepted came back as LeaseError, a compare-and-set that had applied as a conflict.
    """
    backend = RedisBackend(redis_url, key_prefix=prefix, retry_seconds=10)
    other = RedisBackend(redis_url, key_prefix=prefix)
    orch, busy = OrchestrationStateManager(backend=backend), OrchestrationStateManager(backend=other)
    state, busy_state = StateManager(backend=backend), StateManager(backend=other)
    target = "orchestration/complete" if entity == "team" else "state/update"
    try:
        await orch.create_team(TEAM)
        await orch.enqueue_task(TEAM, {"id": "t"})
        task = await orch.claim_task(TEAM, "w1")
        assert task is not None
        await state.save("counter", {"n": 0, "other": 0})
        runner = backend._runner
        assert runner is not None
        real = runner._call
        lost: list[str] = []

        async def lose_the_first_reply(script: Any, keys: list[str], argv: list[Any]) -> Any:
            reply = await real(script, keys, argv)
            if script.name == target and not lost:
                lost.append(script.name)
                for i in range(200):  # the rest of the fleet keeps writing to the same entity
                    if entity == "team":
                        await busy.enqueue_task(TEAM, {"id": f"other{i}"})
                    else:
                        await busy_state.update("counter", {"other": i})
                raise redis.exceptions.ConnectionError("connection lost before the reply")
            return reply

        runner._call = lose_the_first_reply  # type: ignore[method-assign]
        if entity == "team":
            done = await orch.complete_task(TEAM, task.id, {"ok": True}, token=task.token)
            assert done.status == "completed" and lost
        else:
            await state.update("counter", {"n": 1}, expected_version=1)
            assert lost
    finally:
        await backend.close()
        await other.close()

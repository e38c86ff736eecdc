"""Dashboard: server-side render time of a team page with a million tasks queued (issue target < 200 ms).

The app runs in this process (httpx's ASGI transport, no socket), on its own backend, against
the bench's server; each figure is the time from request to the last byte of HTML. The team is
seeded with ``enqueue_tasks`` in concurrent batches (the seeding time is reported too).
"""

from __future__ import annotations

import asyncio
import time

import httpx

from agentstate_redis import OrchestrationStateManager, RedisBackend

from .common import Section, delete_prefix, pct, run_id

TASKS = 1_000_000
#: Tasks per enqueue_tasks call and calls in flight at once while seeding.
BATCH = 10_000
IN_FLIGHT = 8
TEAM = "big"
#: Requests per page per repeat.
REQUESTS = 20


async def seed(backend: RedisBackend, tasks: int) -> float:
    """Enqueue ``tasks`` pending tasks (plus a few in progress, completed and dead); returns seconds."""
    orch = OrchestrationStateManager(backend=backend, lease=3600)
    await orch.create_team(TEAM, exist_ok=True)
    t0 = time.perf_counter()
    starts = iter(range(0, tasks, BATCH))

    async def feeder() -> None:
        for start in starts:
            await orch.enqueue_tasks(
                TEAM,
                [
                    {"id": f"t{i:07d}", "type": "work", "data": {"n": i}}
                    for i in range(start, min(start + BATCH, tasks))
                ],
            )

    await asyncio.gather(*(feeder() for _ in range(IN_FLIGHT)))
    seconds = time.perf_counter() - t0
    for i in range(60):  # every other queue has something too: 20 running, 20 completed, 20 dead
        task = await orch.claim_task(TEAM, f"worker-{i % 4}")
        assert task is not None
        if i % 3 == 1:
            await orch.complete_task(TEAM, task.id, {"ok": True}, token=task.token)
        elif i % 3 == 2:
            await orch.fail_task(TEAM, task.id, "boom", token=task.token, retry=False)
    return seconds


async def run(url: str, duration: float = 2.0, repeats: int = 3, tasks: int = TASKS) -> Section:
    from agentstate_redis.dashboard import create_app

    sec = Section(
        "Dashboard (server-side render, team with 1M tasks)"
        if tasks == TASKS
        else f"Dashboard (server-side render, team with {tasks} tasks)"
    )
    t_start = time.perf_counter()
    prefix = f"bench{run_id()}:"
    backend = RedisBackend(url, key_prefix=prefix)
    app = create_app(redis_url=url, key_prefix=prefix, teams=[TEAM], sweep_interval=0)
    try:
        await backend.connect()
        seconds = await seed(backend, tasks)
        sec.add("seeding (enqueue_tasks)", seconds, "s")
        sec.add("seeding rate", tasks / seconds, "tasks/s", "higher")
        pages = {
            "team page (first 50 pending)": f"/team?team={TEAM}",
            "team page (pending at offset 9950)": f"/team?team={TEAM}&offset=9950",
            "team page (in progress)": f"/team?team={TEAM}&queue=in_progress",
            "dead letters page": f"/dead?team={TEAM}",
            "overview": "/",
            "/metrics": "/metrics",
        }
        from agentstate_redis.dashboard.directory import Directory

        for _ in range(repeats):  # the background sweep: pages never wait on it, the server works for it
            directory = Directory(backend, sweep_interval=0)
            t0 = time.perf_counter()
            await directory.sweep()
            sec.add("directory sweep (SCAN per kind, whole keyspace)", (time.perf_counter() - t0) * 1000, "ms")
            assert directory.page("team") == [TEAM]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            for path in pages.values():  # warm up: scripts loaded, connection open
                assert (await client.get(path)).status_code == 200, path
            for _ in range(repeats):
                for name, path in pages.items():
                    times = []
                    for _ in range(REQUESTS):
                        t0 = time.perf_counter_ns()
                        r = await client.get(path)
                        times.append(time.perf_counter_ns() - t0)
                        assert r.status_code == 200 and len(r.content) > 500, (path, r.status_code)
                    sec.add(f"{name} p50", pct(times, 50) / 1e6, "ms")
                    sec.add(f"{name} worst", max(times) / 1e6, "ms")
        queue = await OrchestrationStateManager(backend=backend).get_queue_status(TEAM, page_size=1)
        sec.notes.append(
            f"queue while measured: {queue.pending_count} pending, {queue.in_progress_count} in progress, "
            f"{queue.completed_count} completed, {queue.dead_count} dead; {REQUESTS} requests per page "
            f"per repeat; seeding: enqueue_tasks of {BATCH} tasks, {IN_FLIGHT} calls in flight"
        )
        sec.absolute_targets.append(("team page (first 50 pending) p50", "<", 200.0))
        sec.absolute_targets.append(("team page (first 50 pending) worst", "<", 200.0))
    finally:
        await app.state.fleet.close()
        await backend.close()
        await delete_prefix(url, prefix + "*")
    sec.seconds = time.perf_counter() - t_start
    return sec

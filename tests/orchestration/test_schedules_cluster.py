"""Schedules on a 3-primary Redis Cluster: every schedule script runs under the team's hash tag
(no CROSSSLOT), and the scheduler's blocking wait works there too (issue 22, item 4)."""

from __future__ import annotations

import asyncio

from agentstate_redis import OrchestrationStateManager, RedisBackend
from agentstate_redis.worker import run_scheduler


async def test_schedules_run_on_a_cluster(cluster_backend: RedisBackend) -> None:
    orch = OrchestrationStateManager(backend=cluster_backend)
    for team in ("alpha", "beta", "gamma"):  # teams on different slots
        await orch.create_team(team)
        await orch.add_schedule(team, "beat", {"type": "beat"}, every=0.1, catchup="all", limit=5)
        await orch.add_schedule(team, "cron", {"type": "c"}, cron="* * * * * *", timezone="Europe/Paris")
    stop = asyncio.Event()
    jobs = [
        asyncio.ensure_future(run_scheduler(orch, team, stop=stop, install_signals=False))
        for team in ("alpha", "beta", "gamma")
    ]
    await asyncio.sleep(1.5)
    stop.set()
    stats = await asyncio.gather(*jobs)
    for team, s in zip(("alpha", "beta", "gamma"), stats):
        ids = sorted(t.id for t in await orch.list_tasks(team, "pending", limit=100))
        beats = [i for i in ids if i.startswith("beat@")]
        assert len(beats) == 5 and s.enqueued == len(ids)
        schedules = {x.schedule_id: x for x in await orch.list_schedules(team)}
        assert schedules["beat"].status == "done" and schedules["cron"].runs >= 1
        assert (await orch.pause_schedule(team, "cron")).status == "paused"
        assert (await orch.resume_schedule(team, "cron")).status == "active"
        assert await orch.remove_schedule(team, "cron") is True

"""`agentstate scheduler` and `agentstate worker` as real processes run a team's schedules
(issue 22, item 4): a standalone scheduler and two workers (each running its own scheduler)
enqueue each tick once and the workers complete each once; SIGTERM stops them, exit 0."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from agentstate_redis import OrchestrationStateManager, RedisBackend
from agentstate_redis.cli import main

from ..waiting import eventually

TEAM = "sched_cli"


def _start(redis_url: str, prefix: str, *args: str) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-m",
        "agentstate_redis.cli",
        *args,
        "--team",
        TEAM,
        "--redis-url",
        redis_url,
        "--prefix",
        prefix,
    ]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )


def test_scheduler_has_useful_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["scheduler", "--help"])
    assert exit_.value.code == 0 and "usage: agentstate scheduler" in capsys.readouterr().out


async def test_scheduler_and_workers_run_each_tick_once(redis_url: str, prefix: str) -> None:
    async with OrchestrationStateManager(
        backend=RedisBackend(redis_url, key_prefix=prefix), completed_retention=10_000
    ) as orch:
        await orch.create_team(TEAM)
        await orch.add_schedule(TEAM, "beat", {"type": "beat", "data": {"topic": "beat"}}, every=0.2, catchup="all")
        procs = [
            _start(redis_url, prefix, "scheduler"),
            *(
                _start(
                    redis_url, prefix, "worker", "--agent-id", f"w{i}", "--work-seconds", "0.01", "--claim-wait", "0.5"
                )
                for i in range(2)
            ),
        ]
        try:
            for p in procs:  # every process is up (a SIGTERM before its handlers are in would kill it)
                assert p.stdout is not None
                first = await asyncio.wait_for(asyncio.to_thread(p.stdout.readline), 60)
                assert first.startswith("agentstate "), first
            base = (await orch.get_queue_status(TEAM, page_size=0)).completed_total

            async def completed() -> bool:
                return (await orch.get_queue_status(TEAM, page_size=0)).completed_total >= base + 5

            await eventually(completed, timeout=60, what="ten scheduled tasks completed")
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            outs = [await asyncio.to_thread(p.communicate, timeout=30) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], [o[0][-2000:] for o in outs]
        assert "agentstate scheduler: stopped (enqueued" in outs[0][0], outs[0][0]
        (s,) = await orch.list_schedules(TEAM)
        done = await orch.list_tasks(TEAM, "completed", limit=10_000)
        rest = [t for q in ("pending", "in_progress") for t in await orch.list_tasks(TEAM, q, limit=10_000)]
        ticks = sorted(int(t.id.rsplit("@", 1)[1]) for t in done + rest)
        assert len(ticks) == len(set(ticks)) == s.runs  # each claimed tick is one task
        assert ticks == list(range(ticks[0], ticks[0] + 200 * len(ticks), 200))  # none missing
        assert (await orch.get_queue_status(TEAM, page_size=0)).completed_total == len(done)

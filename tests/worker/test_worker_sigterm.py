"""`agentstate worker` as a real process (the container's entrypoint), stopped with SIGTERM:
the task in hand is completed within the grace period or released to pending, never lost;
nothing more is claimed; the process exits 0."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from typing import Any

from agentstate_redis import OrchestrationStateManager, RedisBackend

from ..agentstate_process import start_agentstate


def start_worker(redis_url: str, prefix: str, team: str, agent: str, *extra: str) -> subprocess.Popen[str]:
    worker = ["worker", "--team", team, "--agent-id", agent, "--lease", "5", "--claim-wait", "0.5", *extra]
    return start_agentstate(redis_url, prefix, *worker)


async def wait_in_progress(orch: OrchestrationStateManager, team: str, proc: subprocess.Popen[str]) -> Any:
    for _ in range(400):
        assert proc.poll() is None, proc.communicate()[0]
        try:
            running = await orch.list_tasks(team, "in_progress")
        except Exception:  # noqa: BLE001 - the team is created by the worker
            running = []
        if running:
            return running[0]
        await asyncio.sleep(0.05)
    raise AssertionError("the worker claimed nothing")


async def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.to_thread(proc.communicate, timeout=30)
    return proc.returncode, out


async def test_sigterm_mid_task_completes_it_or_releases_it_and_exits_0(redis_url: str, prefix: str) -> None:
    backend = RedisBackend(redis_url, key_prefix=prefix)
    orch = OrchestrationStateManager(backend=backend)
    try:
        for team in ("finish", "release"):
            await orch.create_team(team)
            await orch.enqueue_tasks(
                team,
                [{"id": "first", "priority": "high", "data": {"topic": "x"}}, {"id": "second", "data": {"topic": "y"}}],
            )
        # both workers at once (the machine is slow to start Python): one finishes within the
        # grace period, the other's task outlives it and goes back to pending
        finisher = start_worker(redis_url, prefix, "finish", "w-finish", "--work-seconds", "1.5", "--grace", "15")
        releaser = start_worker(redis_url, prefix, "release", "w-release", "--work-seconds", "60", "--grace", "0.5")
        held_f = await wait_in_progress(orch, "finish", finisher)
        held_r = await wait_in_progress(orch, "release", releaser)
        (code_f, out_f), (code_r, out_r) = await asyncio.gather(stop(finisher), stop(releaser))

        assert code_f == 0, out_f
        first = await orch.get_task("finish", "first")
        assert held_f.id == "first" and first.status == "completed" and first.completed_by == "w-finish"
        assert (await orch.get_task("finish", "second")).status == "pending"  # not claimed after SIGTERM
        assert "completed 1" in out_f and "released 0" in out_f

        assert code_r == 0, out_r
        back = await orch.get_task("release", "first")
        assert held_r.id == "first" and back.status == "pending" and back.agent_id is None
        assert back.failures == 0 and back.stalls == 0
        queue = await orch.get_queue_status("release")
        assert [t.id for t in queue.pending] == ["first", "second"] and queue.in_progress_count == 0
        assert "released 1" in out_r
        for team, agent in (("finish", "w-finish"), ("release", "w-release")):
            assert (await orch.get_team(team)).agents[agent].status == "offline"
    finally:
        for proc in (locals().get("finisher"), locals().get("releaser")):
            if proc is not None and proc.poll() is None:
                proc.kill()
        await backend.close()

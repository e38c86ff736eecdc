"""The compose/k8s shape on one machine: `agentstate coordinator` and two `agentstate worker`
processes on one Redis drain the demo queue (only the poisoned task dead), then SIGTERM: exit 0."""

from __future__ import annotations

import signal

from agentstate_redis import OrchestrationStateManager, RedisBackend

from ..agentstate_process import start_agentstate as agentstate


async def test_coordinator_and_workers_drain_the_queue(redis_url: str, prefix: str) -> None:
    workers = [
        agentstate(
            redis_url,
            prefix,
            "worker",
            "--team",
            "fleet",
            "--agent-id",
            f"pod-{i}",
            "--work-seconds",
            "0.01,0.03",
            "--claim-wait",
            "0.5",
            "--log-level",
            "WARNING",
        )
        for i in range(2)
    ]
    try:
        coordinator = agentstate(
            redis_url, prefix, "coordinator", "--team", "fleet", "--tasks", "20", "--interval", "0.3", "--timeout", "60"
        )
        out, _ = coordinator.communicate(timeout=90)
        assert coordinator.returncode == 0, out
        assert "20 of 20 tasks enqueued" in out and "19 completed, 1 dead letter(s) ['task-poison']" in out
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            text, _ = w.communicate(timeout=30)
            assert w.returncode == 0, text
            assert "stopped (claimed" in text
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    backend = RedisBackend(redis_url, key_prefix=prefix)
    orch = OrchestrationStateManager(backend=backend)
    try:
        completed = await orch.list_tasks("fleet", "completed", limit=100)
        assert len({t.id for t in completed}) == 19
        assert {t.completed_by for t in completed} <= {"pod-0", "pod-1"}
        agents = (await orch.get_team("fleet")).agents
        assert {a.status for a in agents.values()} == {"offline"}
    finally:
        await backend.close()

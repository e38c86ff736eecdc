"""The ``agentstate`` command: each subcommand against the test server, and the demo end to end."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from agentstate_redis import RedisBackend, StateManager
from agentstate_redis.cli import build_parser, main
from agentstate_redis.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent


def agentstate(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentstate_redis.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=ROOT)


@pytest.mark.parametrize("command", ["demo", "server", "health", "inspect", "watch", "worker", "coordinator"])
def test_every_command_has_useful_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: agentstate {command}" in out and len(out.splitlines()) > 4


def test_health(redis_url: str) -> None:
    ok = agentstate("health", "--redis-url", redis_url)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: ") and "scripts run" in ok.stdout
    bad = agentstate("health", "--redis-url", f"redis://127.0.0.1:{free_port()}/0")
    assert bad.returncode == 1 and bad.stdout.startswith("unhealthy: ")


async def test_watch_prints_events_as_json_lines(redis_url: str, prefix: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentstate_redis.cli", "watch", "agent:*", "--kind", "state", "--count", "2",
        "--redis-url", redis_url, "--prefix", prefix, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    assert (await asyncio.wait_for(proc.stderr.readline(), 30)).startswith(b"# watching")
    state = StateManager(backend=RedisBackend(redis_url, key_prefix=prefix))
    await state.save("other", {"x": 1})
    await state.save("agent:a", {"x": 1})
    await state.update("agent:a", {"x": 2})
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    await state.backend.close()
    lines = [orjson.loads(line) for line in out.splitlines()]
    assert [(e["kind"], e["id"], e["op"], e["version"]) for e in lines] == [
        ("state", "agent:a", "save", 1), ("state", "agent:a", "update", 2)]
    assert proc.returncode == 0


async def test_inspect_lists_teams_workflows_and_agents(redis_url: str, prefix: str) -> None:
    from agentstate_redis import AgentStateStore, OrchestrationStateManager, WorkflowState, WorkflowStateManager
    from agentstate_redis.agents import AgentTracker

    backend = RedisBackend(redis_url, key_prefix=prefix)
    orch = OrchestrationStateManager(backend=backend)
    await orch.create_team("research_team")
    await orch.enqueue_tasks("research_team", [{"id": f"t{i}", "type": "research"} for i in range(3)])
    task = await orch.claim_task("research_team", "researcher")
    assert task is not None
    await orch.complete_task("research_team", task.id, {"ok": True}, token=task.token)
    wf = WorkflowStateManager(backend=backend)
    await wf.create(WorkflowState(workflow_id="pipeline", total_steps=4))
    tracker = AgentTracker(AgentStateStore(backend=backend), "researcher")
    await tracker.record_tool_usage("search_web", 3)
    await tracker.capture_state({"n": 1}, step=2, checkpoint_id="c2")
    await StateManager(backend=backend).save("agent:researcher", {"status": "idle"})
    await backend.close()

    result = agentstate("inspect", "--json", "--redis-url", redis_url, "--prefix", prefix)
    assert result.returncode == 0, result.stderr
    data = orjson.loads(result.stdout)
    assert data["teams"] == [{"team": "research_team", "agents": 1, "online": 1, "working": 0, "pending": 2,
                              "in_progress": 0, "retry": 0, "completed": 1, "dead": 0}]
    assert data["workflows"][0] | {"version": 0} == {"workflow": "pipeline", "status": "pending", "step": 0,
                                                     "total_steps": 4, "completed_steps": 0, "version": 0}
    assert data["agents"] == [{"agent": "researcher", "tool_uses": 3, "tools": 1, "latest_checkpoint": "c2",
                               "latest_step": 2}]
    assert data["state_keys"] == 1
    tables = agentstate("inspect", "--redis-url", redis_url, "--prefix", prefix, env={"COLUMNS": "200"})
    assert tables.returncode == 0
    for word in ("Teams and queues", "research_team", "Workflows", "pipeline", "Agents", "researcher"):
        assert word in tables.stdout


def test_server_runs_in_the_foreground_until_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "agentstate_redis.cli", "server", "--port", str(port),
                             "--data-dir", str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        assert "listening at redis://127.0.0.1:" in proc.stdout.readline()
        assert agentstate("health", "--redis-url", f"redis://127.0.0.1:{port}/0").returncode == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert (tmp_path / "appendonlydir").exists() or any(tmp_path.glob("appendonly*"))
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
def test_demo_on_the_embedded_server_exits_0() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "agentstate_redis.cli", "demo", "--workers", "3", "--tasks", "60",
                             "--no-live"], capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "on an embedded Redis" in result.stdout and "all invariants held" in result.stdout
    assert "SIGKILLed worker-" in result.stdout and "completed exactly once" in result.stdout
    assert time.monotonic() - started < 200


@pytest.mark.slow
def test_demo_detects_a_dropped_completion(redis_url: str) -> None:
    result = agentstate("demo", "--workers", "2", "--tasks", "30", "--no-live", "--fault", "drop-completion",
                        "--redis-url", redis_url, timeout=240)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stdout and "every worker's accepted completions match the queue" in result.stdout
    # on a server it did not start, the demo removes its own keys and nothing else
    import redis

    assert not list(redis.Redis.from_url(redis_url).scan_iter(match="agentstate-demo:*"))


def test_parser_lists_every_command() -> None:
    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"demo", "server", "health", "inspect", "watch"} <= set(choices)

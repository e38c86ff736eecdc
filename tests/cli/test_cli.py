"""The ``agentstate`` command: each subcommand against the test server, and the demo end to end."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from agentstate_redis import OrchestrationStateManager, RedisBackend, StateManager
from agentstate_redis.cli import build_parser, main
from agentstate_redis.embedded import free_port

from ..agentstate_process import start_watch

ROOT = Path(__file__).resolve().parents[2]


def agentstate(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentstate_redis.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


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
    proc, notice = await start_watch(redis_url, prefix, "agent:*", "--kind", "state", "--count", "2")
    assert notice.startswith("# no keys under prefix")  # nothing saved yet: it says so and waits
    state = StateManager(backend=RedisBackend(redis_url, key_prefix=prefix))
    await state.save("other", {"x": 1})
    await state.save("agent:a", {"x": 1})
    await state.update("agent:a", {"x": 2})
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    await state.backend.close()
    lines = [orjson.loads(line) for line in out.splitlines()]
    assert [(e["kind"], e["id"], e["op"], e["version"]) for e in lines] == [
        ("state", "agent:a", "save", 1),
        ("state", "agent:a", "update", 2),
    ]
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
    assert data["teams"] == [
        {
            "team": "research_team",
            "agents": 1,
            "online": 1,
            "working": 0,
            "pending": 2,
            "in_progress": 0,
            "retry": 0,
            "delayed": 0,
            "waiting": 0,
            "completed": 1,
            "dead": 0,
            "cancelled": 0,
            "paused": False,
            "limits": "",
        }
    ]
    assert data["workflows"][0] | {"version": 0} == {
        "workflow": "pipeline",
        "status": "pending",
        "step": 0,
        "total_steps": 4,
        "completed_steps": 0,
        "version": 0,
    }
    assert data["agents"] == [
        {"agent": "researcher", "tool_uses": 3, "tools": 1, "latest_checkpoint": "c2", "latest_step": 2}
    ]
    assert data["state_keys"] == 1
    tables = agentstate("inspect", "--redis-url", redis_url, "--prefix", prefix, env={"COLUMNS": "200"})
    assert tables.returncode == 0
    for word in ("Teams and queues", "research_team", "Workflows", "pipeline", "Agents", "researcher"):
        assert word in tables.stdout


def test_server_runs_in_the_foreground_until_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentstate_redis.cli", "server", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
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


def test_server_with_no_arguments_works_from_a_fresh_directory(tmp_path: Path) -> None:
    """``agentstate server`` with its defaults (port 6379, ./agentstate-data) from a directory that has
    nothing in it. Port 6379 of this machine may belong to a system Redis the tests must not touch, so
    the command runs in a network namespace of its own (unshare -n) where 6379 is free."""
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    probe = (
        subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True) if shutil.which("unshare") else None
    )
    if probe is None or probe.returncode != 0:
        pytest.skip(
            f"needs a network namespace for port 6379 (unshare -n): {probe.stderr.strip() if probe else 'no unshare'}"
        )
    cli = f"{shlex.quote(sys.executable)} -m agentstate_redis.cli"
    script = (
        f"ip link set lo up && cd {shlex.quote(str(fresh))} && export PYTHONPATH={shlex.quote(str(ROOT))} && "
        f"{{ {cli} server > server.out 2>&1 & }} && pid=$! && "
        f"for i in $(seq 150); do {cli} health --quiet && break; sleep 0.2; done; "
        f"{cli} health; kill -TERM $pid; wait $pid; echo server-exit=$?"
    )
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "REDIS_URL"},
    )
    server_out = (fresh / "server.out").read_text() if (fresh / "server.out").exists() else ""
    assert "ok: redis server at redis://localhost:6379/0" in result.stdout, result.stdout + result.stderr + server_out
    assert "server-exit=0" in result.stdout, result.stdout + server_out
    assert f"listening at redis://127.0.0.1:6379/0; AOF and log in {fresh / 'agentstate-data'}" in server_out
    assert (fresh / "agentstate-data" / "server.log").exists()
    assert (fresh / "agentstate-data" / "appendonlydir").exists() or any(
        (fresh / "agentstate-data").glob("appendonly*")
    )


def test_server_resolves_a_relative_data_dir_against_the_working_directory(tmp_path: Path) -> None:
    """A relative --data-dir is where the user stands, whatever directory the server chdirs into (it used
    to fail: "Can't open the log file")."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentstate_redis.cli", "server", "--port", str(port), "--data-dir", "rel/data"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        assert f"AOF and log in {tmp_path / 'rel' / 'data'}" in proc.stdout.readline()
        assert agentstate("health", "--redis-url", f"redis://127.0.0.1:{port}/0").returncode == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert (tmp_path / "rel" / "data" / "server.log").exists()
    finally:
        if proc.poll() is None:
            proc.kill()


async def test_queue_pauses_cancels_and_promotes_in_one_line_each(redis_url: str, prefix: str) -> None:
    backend = RedisBackend(redis_url, key_prefix=prefix)
    orch = OrchestrationStateManager(backend=backend)
    await orch.create_team("q_team")
    await orch.enqueue_task("q_team", {"id": "now"})
    await orch.enqueue_task("q_team", {"id": "later"}, delay=3600)
    conn = ["--redis-url", redis_url, "--prefix", prefix]
    for args, line in (
        (["pause", "q_team"], "q_team: paused"),
        (["pause", "q_team"], "q_team: already paused"),
        (["cancel", "q_team", "now", "--reason", "ops"], "q_team: now cancelled (was pending)"),
        (["promote", "q_team", "later"], "q_team: later pending (claimable now)"),
        (["resume", "q_team"], "q_team: resumed"),
    ):
        result = agentstate("queue", *args, *conn)
        assert result.returncode == 0 and result.stdout.strip() == line, (args, result.stdout, result.stderr)
    task = await orch.get_task("q_team", "now")
    assert task.status == "cancelled" and task.cancel_reason == "ops"
    assert not (await orch.get_queue_status("q_team")).paused
    refused = agentstate("queue", "cancel", "q_team", "now", *conn)  # finished: one line, exit 1
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "cancelled" in refused.stderr
    data = orjson.loads(agentstate("inspect", "--json", *conn).stdout)
    assert data["teams"][0]["cancelled"] == 1 and data["teams"][0]["paused"] is False
    await backend.close()


async def test_queue_limits_sets_shows_and_clears_in_one_line_each(redis_url: str, prefix: str) -> None:
    backend = RedisBackend(redis_url, key_prefix=prefix)
    orch = OrchestrationStateManager(backend=backend)
    await orch.create_team("l_team")
    conn = ["--redis-url", redis_url, "--prefix", prefix]
    for args, line in (
        (
            ["--max-in-progress", "3", "--max-per-second", "20"],
            "l_team: limits team max_in_progress=3 max_per_second=20",
        ),
        (["--capability", "gpu", "--max-in-progress", "1"], "l_team: limits gpu max_in_progress=1"),
        (
            [],
            "l_team: limits team max_in_progress=3 max_per_second=20 (in progress 0, last second 0); "
            "gpu max_in_progress=1 (in progress 0, last second 0)",
        ),
        (["--clear"], "l_team: limits team cleared"),
        (["--capability", "gpu", "--clear"], "l_team: limits gpu cleared"),
        ([], "l_team: limits none"),
    ):
        result = agentstate("queue", "limits", "l_team", *args, *conn)
        assert result.returncode == 0 and result.stdout.strip() == line, (args, result.stdout, result.stderr)
    refused = agentstate("queue", "limits", "l_team", "--max-in-progress", "0", *conn)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "max_in_progress" in refused.stderr
    assert await orch.get_team_limits("l_team") == []
    await orch.set_team_limits("l_team", max_in_progress=2)
    data = orjson.loads(agentstate("inspect", "--json", *conn).stdout)
    assert data["teams"][0]["limits"] == "team max_in_progress=2"
    await backend.close()


async def test_inspect_without_a_terminal_prints_whole_ids(redis_url: str, prefix: str) -> None:
    """Off a terminal (a pipe, CI logs) rich would cut tables at 80 columns ("demo-…"); ids stay whole."""
    from agentstate_redis import AgentStateStore, OrchestrationStateManager, WorkflowState, WorkflowStateManager
    from agentstate_redis.agents import AgentTracker

    team, workflow, agent = ("team-" + "t" * 70, "workflow-" + "w" * 70, "agent-" + "a" * 70)
    backend = RedisBackend(redis_url, key_prefix=prefix)
    await OrchestrationStateManager(backend=backend).create_team(team)
    await WorkflowStateManager(backend=backend).create(WorkflowState(workflow_id=workflow, total_steps=2))
    await AgentTracker(AgentStateStore(backend=backend), agent).capture_state(
        {"n": 1}, step=1, checkpoint_id="c-" + "c" * 60
    )
    await backend.close()
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    result = subprocess.run(
        [sys.executable, "-m", "agentstate_redis.cli", "inspect", "--redis-url", redis_url, "--prefix", prefix],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    for whole in (team, workflow, agent, "c-" + "c" * 60):
        assert whole in result.stdout, result.stdout
    assert "…" not in result.stdout
    as_json = agentstate("inspect", "--json", "--redis-url", redis_url, "--prefix", prefix)
    assert orjson.loads(as_json.stdout)["teams"][0]["team"] == team


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_demo_can_be_followed_and_cleans_up_when_interrupted(
    redis_url: str, prefix: str, stop_signal: signal.Signals
) -> None:
    """The demo prints its key prefix and the watch/inspect commands; they follow the run while it goes.
    Ctrl-C (SIGINT) or SIGTERM mid-run stops the workers, removes every key of the run (and nothing
    else), says it was interrupted, and exits 130."""
    bystander = StateManager(backend=RedisBackend(redis_url, key_prefix=prefix))
    await bystander.save("not-the-demos", {"keep": True})
    demo = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agentstate_redis.cli",
        "demo",
        "--no-live",
        "--workers",
        "2",
        "--tasks",
        "2000",
        "--redis-url",
        redis_url,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _follow_then_interrupt(demo, redis_url, stop_signal)
    finally:
        if demo.returncode is None:  # the test failed midway: let the demo remove its keys, or kill it
            demo.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(demo.communicate(), 60)
            except asyncio.TimeoutError:
                demo.kill()
                await demo.communicate()
    assert await bystander.get("not-the-demos") == {"keep": True}
    await bystander.close()


async def _follow_then_interrupt(demo: asyncio.subprocess.Process, redis_url: str, stop_signal: signal.Signals) -> None:
    import redis

    assert demo.stdout is not None
    lines = [(await asyncio.wait_for(demo.stdout.readline(), 60)).decode() for _ in range(4)]
    assert lines[0].startswith("agentstate demo: 2 worker processes, 2000 tasks, on redis://"), lines
    demo_prefix = lines[1].split("key prefix ", 1)[1].split(" ", 1)[0]
    assert demo_prefix.startswith("agentstate-demo:") and "follow the run from another terminal" in lines[1]
    watch_args, inspect_args = shlex.split(lines[2])[1:], shlex.split(lines[3])[1:]
    assert watch_args == ["watch", "--redis-url", redis_url, "--prefix", demo_prefix]
    assert inspect_args == ["inspect", "--redis-url", redis_url, "--prefix", demo_prefix]

    watched = await asyncio.to_thread(agentstate, *watch_args, "--kind", "team", "--count", "3", timeout=120)
    assert watched.returncode == 0 and len(watched.stdout.splitlines()) == 3, (
        watched.stdout + watched.stderr
    )  # --count 3
    deadline = time.monotonic() + 120
    while True:  # interrupt a fleet that is working: some tasks done, most still to do
        followed = await asyncio.to_thread(agentstate, *inspect_args, "--json")
        teams = orjson.loads(followed.stdout)["teams"] if followed.returncode == 0 else []
        if teams and teams[0]["completed"] >= 5:
            break
        assert time.monotonic() < deadline, followed.stdout + followed.stderr
        await asyncio.sleep(0.5)
    raw = redis.Redis.from_url(redis_url)
    assert list(raw.scan_iter(match=demo_prefix + "*", count=1000))
    demo.send_signal(stop_signal)
    out, err = await asyncio.wait_for(demo.communicate(), 120)
    assert demo.returncode == 130, out.decode() + err.decode()
    last = out.decode().strip().splitlines()[-1]
    assert last.startswith("agentstate demo: interrupted after ") and "workers stopped, removed its" in last, last
    assert "Traceback" not in err.decode(), err.decode()
    assert list(raw.scan_iter(match=demo_prefix + "*", count=1000)) == []
    raw.close()


@pytest.mark.slow
def test_demo_on_the_embedded_server_exits_0() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "agentstate_redis.cli", "demo", "--workers", "3", "--tasks", "60", "--no-live"],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "on an embedded Redis" in result.stdout and "all invariants held" in result.stdout
    assert "SIGKILLed worker-" in result.stdout and "completed exactly once" in result.stdout
    assert time.monotonic() - started < 200


@pytest.mark.slow
def test_demo_detects_a_dropped_completion(redis_url: str) -> None:
    result = agentstate(
        "demo",
        "--workers",
        "2",
        "--tasks",
        "30",
        "--no-live",
        "--fault",
        "drop-completion",
        "--redis-url",
        redis_url,
        timeout=240,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stdout and "every worker's accepted completions match the queue" in result.stdout
    # on a server it did not start, the demo removes its own keys (it printed their prefix)
    import redis

    demo_prefix = result.stdout.split("key prefix ", 1)[1].split(" ", 1)[0]
    assert demo_prefix.startswith("agentstate-demo:") and "removed its" in result.stdout
    assert not list(redis.Redis.from_url(redis_url).scan_iter(match=demo_prefix + "*"))


def test_parser_lists_every_command() -> None:
    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"demo", "server", "health", "inspect", "watch"} <= set(choices)


async def test_inspect_counts_tasks_waiting_for_dependencies(redis_url: str, prefix: str) -> None:
    backend = RedisBackend(redis_url, key_prefix=prefix)
    orch = OrchestrationStateManager(backend=backend)
    await orch.create_team("f_team")
    await orch.enqueue_flow("f_team", [{"id": "r1"}, {"id": "r2"}, {"id": "w", "depends_on": ["r1", "r2"]}])
    conn = ["--redis-url", redis_url, "--prefix", prefix]
    row = orjson.loads(agentstate("inspect", "--json", *conn).stdout)["teams"][0]
    assert row["waiting"] == 1 and row["pending"] == 2
    tables = agentstate("inspect", *conn, env={"COLUMNS": "200"})
    assert "waiting" in tables.stdout
    await backend.close()

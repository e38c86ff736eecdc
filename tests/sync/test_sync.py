"""The blocking API (issue 19, items 1-3): calls, errors, lifecycle, sharing, callbacks, misuse, dead loops.

Every test here is a plain (non-async) test, as sync code is, on the memory backend and the real server.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import agentstate_redis
from agentstate_redis import sync
from agentstate_redis.sync.runner import default_runner

ROOT = Path(__file__).resolve().parents[2]


def test_calls_return_what_the_async_api_returns_and_raise_its_errors(sync_backend: Any) -> None:
    state = sync.StateManager(backend=sync_backend)
    assert state.save("agent:a", {"n": 1}) == 1
    assert state.update("agent:a", {"m": 2}) == 2
    assert state.get("agent:a") == {"n": 1, "m": 2}
    entry = state.get_entry("agent:a")
    assert isinstance(entry, agentstate_redis.StateEntry) and entry.version == 2
    assert state.list_keys("agent:*") == ["agent:a"]
    with pytest.raises(agentstate_redis.VersionConflictError):
        state.save("agent:a", {"n": 0}, expected_version=1)
    with pytest.raises(agentstate_redis.NotFoundError):
        state.update("agent:missing", {"n": 1})
    with pytest.raises(agentstate_redis.InvalidInputError, match="value"):
        state.save("agent:a", "not a dict")  # type: ignore[arg-type]
    assert state.delete("agent:a") is True and state.get("agent:a") is None


def test_with_close_connect_and_one_twin_per_object(prefix: str) -> None:
    with sync.StateManager(persistence="memory", key_prefix=prefix) as state:
        assert state.connect() is state
        assert state.save("k", {"v": 1}) == 1
        backend = state.backend
        assert isinstance(backend, sync.MemoryBackend) and state.backend is backend
        assert backend.connect() is backend
    with pytest.raises(agentstate_redis.BackendUnavailableError):
        state.save("k", {"v": 2})


def test_managers_share_one_backend(sync_backend: Any) -> None:
    """backend= and state_manager= share one connection (one async backend object) across sync managers."""
    state = sync.StateManager(backend=sync_backend)
    workflows = sync.WorkflowStateManager(state_manager=state)
    store = sync.AgentStateStore(backend=state.backend)
    assert workflows.backend is state.backend is store.backend is sync_backend
    workflows.create(agentstate_redis.WorkflowState(workflow_id="wf1", total_steps=2))
    assert workflows.get("wf1").workflow_id == "wf1"
    assert store.record_tool_usage("a1", "Bash") == 1
    tracker = sync.AgentTracker(store, "a1")
    assert tracker.store is store and tracker.agent_id == "a1"
    assert tracker.get_tool_usage_counts() == {"Bash": 1}
    keys = list(sync_backend.scan(sync_backend.keys.entity_pattern("agent", "*")))  # an async generator, iterated
    assert keys


def test_keep_alive_is_a_context_manager_and_claims_block(sync_backend: Any) -> None:
    orch = sync.OrchestrationStateManager(backend=sync_backend, lease=30)
    orch.create_team(
        agentstate_redis.TeamState(
            team_id="t1", agents={"w1": agentstate_redis.AgentCoordinationState(agent_id="w1", capabilities=["x"])}
        )
    )
    threading.Timer(0.3, lambda: orch.enqueue_task("t1", {"id": "task1", "type": "x"})).start()
    task = orch.claim_task("t1", "w1", wait=20)  # blocks until the enqueue from another thread
    assert task is not None and task.id == "task1"
    with orch.keep_alive("t1", "w1"):
        result = {"ok": True}
    orch.complete_task("t1", task.id, result, token=task.token)
    assert orch.get_queue_status("t1").completed_total == 1


def test_plain_callbacks_run_off_the_loop_and_may_call_the_blocking_api(sync_backend: Any) -> None:
    """compute and a registered agent's resume run on pool threads, where they use the sync API themselves."""
    tools = sync.ToolStateManager(backend=sync_backend)
    state = sync.StateManager(backend=sync_backend)
    seen: list[str] = []

    def compute() -> dict[str, int]:
        seen.append(threading.current_thread().name)
        return {"n": state.save("inner", {"x": 1})}  # the blocking API from inside a callback

    assert tools.get_or_compute("t", {"q": 1}, compute, ttl=60) == {"n": 1}
    assert tools.get_or_compute("t", {"q": 1}, compute, ttl=60) == {"n": 1}  # cached: computed once
    assert seen == ["agentstate-sync-callback"]

    store = sync.AgentStateStore(backend=sync_backend)
    store.save_checkpoint(agentstate_redis.AgentCheckpoint(agent_id="a1", step=1, state={"s": 1}))

    class Agent:
        id = "a1"

        def restore_from_checkpoint(self, saved: dict[str, Any]) -> None:
            self.saved = saved

        def resume(self) -> int:
            return store.record_tool_usage("a1", "Resume")  # blocking work in a plain resume()

    recovery = sync.AgentRecoveryManager(store, max_recovery_attempts=2)
    agent = Agent()
    recovery.register(agent)
    assert recovery.recover_and_resume("a1") == 1
    assert agent.saved == {"s": 1} and recovery.attempts("a1") == 1


def test_subscription_delivers_in_order_on_a_background_thread(sync_backend: Any) -> None:
    """500 updates by another thread reach a plain callback in version order, each once, off the loop thread."""
    state = sync.StateManager(backend=sync_backend)
    got: list[tuple[int, str]] = []
    done = threading.Event()

    def on_change(key: str, old: Any, new: Any) -> None:
        got.append((new["n"], threading.current_thread().name))
        if new["n"] == 500:
            done.set()

    sub = state.subscribe("ord:*", on_change)  # returns once the subscription is live
    assert type(sub).__name__ == "Subscription" and sub._twin_async is not None  # loop-bound: a twin
    writer = threading.Thread(target=lambda: [state.save("ord:a", {"n": i}) for i in range(1, 501)])
    writer.start()
    writer.join(60)
    assert done.wait(30)
    assert [n for n, _ in got] == list(range(1, 501))
    assert {name for _, name in got} == {"agentstate-sync-callback"}
    state.unsubscribe("ord:*", on_change)  # the same callback finds its wrapper
    state.save("ord:a", {"n": 501})
    time.sleep(0.3)
    assert len(got) == 500


def test_blocking_call_in_a_running_loop_raises_and_points_to_the_async_api(prefix: str) -> None:
    state = sync.StateManager(persistence="memory", key_prefix=prefix)

    async def handler() -> None:
        state.get("k")

    with pytest.raises(sync.EventLoopRunningError, match=r"await StateManager\.get"):
        asyncio.run(handler())
    assert isinstance(sync.EventLoopRunningError("x"), (agentstate_redis.AgentStateError, RuntimeError))

    errors: list[BaseException] = []

    async def async_callback(key: str, old: Any, new: Any) -> None:  # runs on the private loop itself
        try:
            state.get(key)
        except sync.EventLoopRunningError as exc:
            errors.append(exc)

    state.subscribe("*", async_callback)
    state.save("k", {"v": 1})
    deadline = time.monotonic() + 10
    while not errors and time.monotonic() < deadline:
        time.sleep(0.05)
    assert errors and "deadlock" in str(errors[0])
    state.close()


def test_a_dead_loop_fails_calls_instead_of_hanging(redis_url: str, prefix: str) -> None:
    """A call waiting on the loop (a 30 s claim) when the loop dies fails within seconds; new objects work."""
    orch = sync.OrchestrationStateManager(persistence="redis", redis_url=redis_url, key_prefix=prefix)
    orch.create_team(
        agentstate_redis.TeamState(
            team_id="t1", agents={"w1": agentstate_redis.AgentCoordinationState(agent_id="w1", capabilities=["x"])}
        )
    )
    outcome: list[BaseException | object] = []

    def claim() -> None:
        try:
            outcome.append(orch.claim_task("t1", "w1", wait=30))
        except BaseException as exc:  # noqa: BLE001
            outcome.append(exc)

    waiter = threading.Thread(target=claim)
    waiter.start()
    time.sleep(0.5)
    runner = default_runner()
    started = time.monotonic()
    runner.loop.call_soon_threadsafe(runner.loop.stop)
    waiter.join(10)
    assert not waiter.is_alive() and time.monotonic() - started < 10
    assert isinstance(outcome[0], agentstate_redis.BackendUnavailableError)
    with pytest.raises(agentstate_redis.BackendUnavailableError, match="stopped"):
        orch.get_team("t1")
    fresh = sync.OrchestrationStateManager(persistence="redis", redis_url=redis_url, key_prefix=prefix)
    assert fresh.get_team("t1").team_id == "t1" and default_runner() is not runner
    fresh.close()
    _bury(runner.loop, orch)


def _bury(loop: asyncio.AbstractEventLoop, *twins: Any) -> None:
    """Finish what the killed loop left behind here, not in the garbage collector (whose finalizers, run
    in the middle of a later compile(), trip CPython 3.11's 'AST constructor recursion depth mismatch')."""

    async def cleanup() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for twin in twins:
            await twin._twin_async.close()

    loop.run_until_complete(cleanup())
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    gc.collect()


def _run_script(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_a_process_that_forgets_close_exits_and_its_file_state_is_saved(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    """No close(), a live subscription and a worker thread: the process still exits promptly (rc 0), and the
    file backend's last write (snapshot interval 1 h) is on disk because the exit hook closed it."""
    path = tmp_path / "state.json"
    code = f"""
        import threading, time
        from agentstate_redis import sync
        state = sync.StateManager(persistence="redis", redis_url={redis_url!r}, key_prefix={prefix!r})
        state.subscribe("*", lambda k, o, n: None)
        state.save("a", {{"n": 1}})
        files = sync.StateManager(backend=sync.FileBackend(file_path={str(path)!r}, save_interval=3600))
        files.save("kept", {{"n": 2}})
        threading.Thread(target=lambda: state.get("a"), daemon=True).start()
        print("done", flush=True)
    """
    started = time.monotonic()
    result = _run_script(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "done" in result.stdout and time.monotonic() - started < 30
    reopened = sync.StateManager(backend=sync.FileBackend(file_path=str(path)))
    assert reopened.get("kept") == {"n": 2}
    reopened.close()


def test_sync_run_worker_with_a_plain_handler_stops_on_sigterm(redis_url: str, prefix: str) -> None:
    """run_worker from a plain script: a plain handler works tasks; SIGTERM (caught on the main thread,
    where signal handlers live) stops it gracefully and the process exits 0 with its stats."""
    code = f"""
        import os, signal, threading
        from agentstate_redis import sync, TeamState, AgentCoordinationState
        orch = sync.OrchestrationStateManager(persistence="redis", redis_url={redis_url!r}, key_prefix={prefix!r})
        agent = AgentCoordinationState(agent_id="w", capabilities=["x"])
        orch.create_team(TeamState(team_id="t", agents={{"w": agent}}))
        for i in range(5):
            orch.enqueue_task("t", {{"id": f"task{{i}}", "type": "x", "data": {{"i": i}}}})
        done = []
        def handle(task):
            done.append(task.id)
            if len(done) == 3:
                threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
            return {{"double": task.data["i"] * 2}}
        stats = sync.run_worker(orch, "t", "w", handle, claim_wait=0.5)
        print("stats", stats.completed, flush=True)
        assert stats.completed >= 3 and orch.get_queue_status("t").completed_total == stats.completed
    """
    result = _run_script(code)
    assert result.returncode == 0, result.stderr[-2000:]
    completed = int(result.stdout.split("stats")[1].split()[0])
    assert 3 <= completed <= 5


def test_run_worker_stops_on_a_threading_event(sync_backend: Any) -> None:
    orch = sync.OrchestrationStateManager(backend=sync_backend)
    orch.create_team(
        agentstate_redis.TeamState(
            team_id="t2", agents={"w": agentstate_redis.AgentCoordinationState(agent_id="w", capabilities=["x"])}
        )
    )
    for i in range(4):
        orch.enqueue_task("t2", {"id": f"k{i}", "type": "x"})
    stop = threading.Event()

    def handle(task: Any) -> str:
        if orch.get_queue_status("t2").pending_count == 0:  # the blocking API inside a plain handler
            stop.set()
        return task.id

    async def async_handle(task: Any) -> str:  # an async handler still works, on the loop
        return task.id

    stats = sync.run_worker(orch, "t2", "w", handle, stop=stop, claim_wait=0.5, install_signals=False)
    assert stats.completed == 4
    orch.enqueue_task("t2", {"id": "k9", "type": "x"})
    assert sync.run_worker(orch, "t2", "w", async_handle, max_tasks=1, install_signals=False).completed == 1


class _FutureManager:
    """Stands in for a method another branch adds later: a subscribe with a gap-reporting keyword."""

    def __init__(self) -> None:
        self.callbacks: list[Any] = []

    def subscribe(self, pattern: str, callback: Any, *, on_gap: Any = None) -> None:
        self.callbacks.append((callback, on_gap))

    async def publish(self, n: int) -> None:
        for callback, on_gap in self.callbacks:
            if n % 5 == 0 and on_gap is not None:
                await on_gap({"missed_before": n})
            await callback(n)


def test_new_methods_and_callback_keywords_are_derived_without_code() -> None:
    """A class the sync package has never seen gets a twin; every callable keyword (an ``on_gap``) is
    run off the loop, in the order the async side awaits them, interleaved with the events."""
    from agentstate_redis.sync.twin import twin_class

    twin = twin_class(_FutureManager, module=__name__)
    manager = twin()
    order: list[Any] = []
    threads: set[str] = set()

    def on_event(n: int) -> None:
        threads.add(threading.current_thread().name)
        order.append(n)

    manager.subscribe("x:*", on_event, on_gap=lambda gap: order.append(gap))
    for n in range(1, 11):
        manager.publish(n)
    assert order == [1, 2, 3, 4, {"missed_before": 5}, 5, 6, 7, 8, 9, {"missed_before": 10}, 10]
    assert threads == {"agentstate-sync-callback"}
    assert inspect.signature(twin.subscribe) == inspect.signature(_FutureManager.subscribe)


def test_checkpoint_lineage_through_the_blocking_api(sync_backend: Any) -> None:
    store = sync.AgentStateStore(backend=sync_backend)
    store.save_checkpoint(agentstate_redis.AgentCheckpoint(agent_id="a", checkpoint_id="c1", step=1))
    fork = store.fork_from_checkpoint("a", "c1")
    other = store.fork_from_checkpoint("a", "c1", "b")
    assert (fork.parent_checkpoint_id, other.parent_agent_id) == ("c1", "a")
    tree = store.get_checkpoint_tree("a")
    assert isinstance(tree, agentstate_redis.CheckpointTree) and tree.as_dict() == {"c1": [fork.checkpoint_id]}
    assert [n.agent_id for n in store.list_all_checkpoints()] == ["a", "a", "b"]

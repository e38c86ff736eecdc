"""Seed 003's code runs unchanged on AgentStateTracking (issue 19, items 4 and 5).

The seed's Python blocks (tests/seed003_blocks.py, checked against the seed file when it is
reachable) run in order, in one namespace, as a reader would run them, on the memory backend and
the real server. ``kaizen`` is not installed here: a stub ``kaizen`` package provides
``BaseAutonomousAgent`` as a tiny agent class that only inherits
``agentstate_redis.sync.AgentStateTracking`` (on the test's store), ``AutonomousConfig`` and the
signature helpers, so even the construction line runs as written. Names a block uses without
defining them are provided by the test: ``checkpoint_state`` (what ``_capture_state()`` returned),
and for the best-practice blocks ``run_id``, ``nodes``, ``result``, ``start_time``, ``end_time``,
``state`` (the workflow state their loop reads) and ``execute_workflow``. The async blocks (a
hook and a handler defined with ``async def``, a top-level ``await``) run in an event loop, where
the mixin's plain methods work as the seed uses them.

Proved: the seed's shapes exactly (records ``tool_name, approved, action, timestamp`` as an ISO
string, ``input_summary``, "" without input; ``last_updated`` an ISO string; the captured state's
attributes and the "Checkpoint Data Structure"), recording order (``history[-1]`` is the latest),
a ``deny_all`` is a standing decision ("denied"), and everything is in the store, not in memory:
a second agent object on the same store sees it all.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import json
import re
import sys
import time
import types
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from agentstate_redis import AgentStateStore as AsyncAgentStateStore
from agentstate_redis import AgentStateTracking as AsyncAgentStateTracking
from agentstate_redis import CapturedState, sync

from ..agents.stored import SEED_CHECKPOINT_FIELDS
from ..seed003_blocks import BLOCKS

ROOT = Path(__file__).resolve().parents[2]
SEED = "003_340b24e7ed9a88dc.txt"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
RECORD_KEYS = ["tool_name", "approved", "action", "timestamp", "input_summary"]


def _seed_file() -> Path | None:
    for base in (ROOT.parent, ROOT.parent.parent, ROOT):
        candidate = base / "shared" / "seeds" / SEED
        if candidate.exists():
            return candidate
    return None


def test_the_blocks_are_the_seeds_verbatim() -> None:
    seed = _seed_file()
    if seed is None:
        pytest.skip("the seed file is not beside this checkout")
    assert re.findall(r"```python\n(.*?)```", seed.read_text(), re.S) == list(BLOCKS.values())


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, prefix: str) -> Iterator[Any]:
    if request.param == "memory":
        s = sync.AgentStateStore(persistence="memory", key_prefix=prefix)
    else:
        s = sync.AgentStateStore(persistence="redis", redis_url=request.getfixturevalue("redis_url"), key_prefix=prefix)
    yield s
    s.close()


@pytest.fixture
def kaizen(store: Any, monkeypatch: pytest.MonkeyPatch) -> type:
    """A stub ``kaizen`` whose BaseAutonomousAgent is only our mixin, on the test's store."""

    class AutonomousConfig:
        def __init__(self, **settings: Any) -> None:
            self.__dict__.update(settings)

    class BaseAutonomousAgent(sync.AgentStateTracking):
        def __init__(self, config: Any = None, signature: Any = None) -> None:
            self.config, self.signature, self.current_step = config, signature, 0
            self.init_state_tracking(store, "my_agent")

    modules = {
        name: types.ModuleType(name)
        for name in (
            "kaizen",
            "kaizen.agents",
            "kaizen.agents.autonomous",
            "kaizen.agents.autonomous.base",
            "kaizen.signatures",
        )
    }
    modules["kaizen.agents.autonomous.base"].BaseAutonomousAgent = BaseAutonomousAgent
    modules["kaizen.agents.autonomous.base"].AutonomousConfig = AutonomousConfig
    modules["kaizen.signatures"].Signature = type("Signature", (), {})
    modules["kaizen.signatures"].InputField = modules["kaizen.signatures"].OutputField = lambda **kw: None
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return BaseAutonomousAgent


def _run(name: str, ns: dict[str, Any], **free: Any) -> str:
    """Run one seed block in ``ns`` (in an event loop if it awaits); returns what it printed."""
    ns.update(free)
    code = compile(BLOCKS[name], f"seed003:{name}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if code.co_flags & 0x80:  # CO_COROUTINE: the block awaits at top level
            asyncio.run(_await(eval(code, ns)))  # noqa: S307 - the seed's own code
        else:
            exec(code, ns)  # noqa: S102
    return out.getvalue()


async def _await(awaitable: Any) -> Any:
    return await awaitable


class _Node:
    def __init__(self, ident: str) -> None:
        self.id = ident


def _check_record_shape(record: dict[str, Any]) -> None:
    assert list(record) == RECORD_KEYS
    assert ISO.match(record["timestamp"]), record["timestamp"]
    assert datetime.fromisoformat(record["timestamp"]).tzinfo == timezone.utc
    assert isinstance(record["input_summary"], str)


def test_seed_003_runs_unchanged(kaizen: type, store: Any) -> None:
    ns: dict[str, Any] = {"__name__": "seed003"}
    _run("quick_start", ns)
    agent = ns["agent"]
    history = ns["approval_history"]
    assert [(r["tool_name"], r["approved"], r["action"], r["input_summary"]) for r in history] == [
        ("Bash", True, "once", "{'command': 'ls -la'}"),
        ("Write", False, "deny_all", ""),
    ]
    for record in history:
        _check_record_shape(record)
    assert history[-1]["tool_name"] == "Write"  # recording order: [-1] is the latest
    assert store.get_standing_decision("my_agent", "Write") == "denied"  # the deny_all is enforced
    assert ns["tool_counts"] == {"Bash": 1, "Read": 5}
    wf = ns["workflow_state"]
    assert {k: wf[k] for k in ("run_id", "status", "current_node")} == {
        "run_id": "run_abc123",
        "status": "running",
        "current_node": "process_data",
    }
    assert ISO.match(wf["last_updated"])

    _run("recording_approvals", ns)
    _run("approval_record_structure", ns)
    printed = _run("retrieving_approval_history", ns)
    assert printed.splitlines() == [
        "Bash: Approved",
        "Write: Denied",
        "Bash: Approved",
        "Write: Approved",
        "Delete: Denied",
        "Bash: Approved",
    ]
    assert len(ns["bash_approvals"]) == 3 and [r["tool_name"] for r in ns["denied_tools"]] == ["Write", "Delete"]
    assert ns["history"][-1]["input_summary"] == "{'command': 'rm -rf /tmp/test'}"
    assert store.get_standing_decision("my_agent", "Write") == "allowed"  # the later "all" wins
    assert store.get_standing_decision("my_agent", "Delete") == "denied"

    _run("recording_tool_usage", ns)
    context = types.SimpleNamespace(data={"tool_name": "Grep"})
    asyncio.run(ns["tool_execution_hook"](context))  # the seed's async hook, in a loop
    printed = _run("retrieving_tool_usage_counts", ns)
    assert ns["counts"] == {"Bash": 2, "Read": 6, "LLM": 5, "Grep": 1}
    assert printed.strip() == "Most used: Read (6 times)" and ns["total"] == 14
    assert _run("cost_estimation", ns).strip() == "Estimated cost: $0.0526"

    _run("updating_workflow_state", ns)
    _run("workflow_state_structure", ns)
    assert _run("retrieving_workflow_state", ns).strip() == "Workflow run_abc123 completed in 1.5s"
    assert ns["state"]["node_results"] == {"node1": "success", "node2": "pending"}
    assert ns["state"]["retry_count"] == 2 and ns["state"]["error_count"] == 0

    printed = _run("capture_state", ns)
    captured = ns["state"]
    assert isinstance(captured, CapturedState)
    assert printed.splitlines() == [
        "Approvals: 6",
        "Tools used: ['Bash', 'Read', 'LLM', 'Grep']",
        "Workflow: run_abc123",
    ]
    assert captured.approval_history == agent._get_approval_history()
    document = captured.to_dict()
    assert set(SEED_CHECKPOINT_FIELDS) <= set(document)
    assert json.loads(json.dumps(document))["workflow_state"]["status"] == "completed"
    assert store.get_checkpoint("my_agent", captured.checkpoint_id).tool_usage_counts == captured.tool_usage_counts

    agent.record_tool_usage("Bash", increment=100)  # drift, then restore
    agent.record_approval("Delete", True, "all")
    agent.update_workflow_state(status="failed")
    agent.current_step = 9
    _run("state_restoration", ns, checkpoint_state=captured)
    assert ns["history"] == captured.approval_history and ns["counts"] == captured.tool_usage_counts
    assert ns["wf_state"] == captured.workflow_state and agent.current_step == captured.step_number
    assert store.get_standing_decision("my_agent", "Delete") == "denied"

    _run("best_practice_1_record_approvals_immediately", ns)
    asyncio.run(ns["handle_tool_approval"]("Bash", {"command": "pwd"}, True, "once"))
    with pytest.raises(PermissionError, match="Tool Rm was denied"):
        asyncio.run(ns["handle_tool_approval"]("Rm", {"path": "/"}, False, "deny_all"))
    assert agent._get_approval_history()[-1]["tool_name"] == "Rm"
    _run("best_practice_2_consistent_tool_names", ns)
    assert agent._get_tool_usage_counts()["Bash"] == 3
    _run(
        "best_practice_3_workflow_state_at_key_points",
        ns,
        run_id="run_xyz",
        nodes=[_Node("n1"), _Node("n2")],
        result="done",
        start_time=10.0,
        end_time=12.5,
        state=agent._get_workflow_state(),
    )
    final = agent._get_workflow_state()
    assert final["run_id"] == "run_xyz" and final["status"] == "completed" and final["execution_time"] == 2.5
    assert final["current_node"] == "n2" and final["node_results"]["n2"] == "done"

    async def execute_workflow() -> str:
        raise ValueError("node n3 exploded")

    with pytest.raises(ValueError, match="exploded"):
        _run("best_practice_4_preserve_state_on_errors", ns, execute_workflow=execute_workflow)
    failed = agent._get_workflow_state()
    assert failed["status"] == "failed" and failed["error_type"] == "ValueError"
    assert failed["error_message"] == "node n3 exploded"

    # all of it lives in the store: a second agent object (another process would be the same) sees it
    other = kaizen()
    assert other._get_approval_history() == agent._get_approval_history()
    assert other._get_tool_usage_counts() == agent._get_tool_usage_counts()
    assert other._get_workflow_state() == failed


def test_captured_state_restores_into_another_store_and_agent(store: Any, prefix: str) -> None:
    """A state captured in one store restores exactly into another (a separate memory server) and agent."""

    class Agent(sync.AgentStateTracking):
        def __init__(self, s: Any, agent_id: str) -> None:
            self.init_state_tracking(s, agent_id)

    source = Agent(store, "src")
    source.record_approval("Bash", True, "once", {"command": "ls"})
    time.sleep(0.002)
    source.record_approval("Write", False, "deny_all")
    source.record_tool_usage("Read", 7)
    source.update_workflow_state(run_id="r1", status="running", node_results={"a": [1, 2]})
    captured = source._capture_state()
    elsewhere = sync.AgentStateStore(persistence="memory", key_prefix=prefix + "other:")
    target = Agent(elsewhere, "dst")
    target.record_tool_usage("Junk", 3)
    for given in (captured, captured.to_dict(), json.loads(json.dumps(captured.to_dict()))):
        target._restore_state(given)
        assert target._get_approval_history() == source._get_approval_history()
        assert target._get_tool_usage_counts() == {"Read": 7}
        assert target._get_workflow_state() == source._get_workflow_state()
        assert elsewhere.get_standing_decision("dst", "Write") == "denied"
    elsewhere.close()


async def test_the_async_twin_of_the_mixin(backend: Any) -> None:
    class Agent(AsyncAgentStateTracking):
        def __init__(self, s: Any) -> None:
            self.init_state_tracking(s, "async_agent")

    agent = Agent(AsyncAgentStateStore(backend=backend))
    await agent.record_approval("Bash", True, "once", {"command": "ls -la"})
    await agent.record_approval("Write", False, "deny_all")
    await agent.record_tool_usage("Read", increment=5)
    await agent.update_workflow_state(run_id="run_abc123", status="running")
    history = await agent._get_approval_history()
    assert [r["tool_name"] for r in history] == ["Bash", "Write"] and history[1]["input_summary"] == ""
    state = await agent._capture_state()
    assert len(state.approval_history) == 2 and state.workflow_run_id == "run_abc123"
    await agent.record_tool_usage("Read", increment=5)
    await agent._restore_state(state)
    assert await agent._get_tool_usage_counts() == {"Read": 5}
    with pytest.raises(sync.InvalidInputError, match=r"agentstate_redis\.sync"):
        agent.init_state_tracking(sync.AgentStateStore(backend=sync.MemoryBackend()), "x")

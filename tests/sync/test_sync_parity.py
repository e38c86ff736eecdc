"""The blocking API cannot drift from the async one: every public method compared by introspection (issue 19, item 1).

For every class in ``agentstate_redis.__all__`` with coroutine methods (found by introspection, so a
class or method another branch adds is covered without touching this file), the twin of the same
name in ``agentstate_redis.sync``: has the same public members, each method with an equal
``inspect.signature`` and the same docstring; no twin method is a coroutine function or an async
generator; the constructor's signature and the class docstring are the async ones. Everything
else of ``__all__`` (models, enums, errors, configuration) is the very same object. ``run_worker``
and the Kaizen mixin (whose seed methods start with ``_``) are compared the same way.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import agentstate_redis
import agentstate_redis.sync as sync
from agentstate_redis.agents import tracking as async_tracking
from agentstate_redis.sync.twin import has_async_methods
from agentstate_redis.worker import run_worker as async_run_worker


def _classes_with_coroutines() -> list[str]:
    return [
        name
        for name in agentstate_redis.__all__
        if inspect.isclass(getattr(agentstate_redis, name))
        and has_async_methods(getattr(agentstate_redis, name))
        and name != "AgentStateTracking"
    ]


def _public(cls: type) -> dict[str, Any]:
    return {name: inspect.getattr_static(cls, name) for name in dir(cls) if not name.startswith("_")}


def _is_async(member: Any) -> bool:
    return inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member)


def test_the_six_managers_and_the_rest_have_twins() -> None:
    names = set(_classes_with_coroutines())
    assert {
        "StateManager",
        "AgentStateStore",
        "WorkflowStateManager",
        "OrchestrationStateManager",
        "KnowledgeStateManager",
        "ToolStateManager",
        "SpeechStateManager",
        "AgentTracker",
        "AgentRecoveryManager",
        "RedisBackend",
        "MemoryBackend",
        "FileBackend",
    } <= names


@pytest.mark.parametrize("name", _classes_with_coroutines())
def test_twin_matches_async_class(name: str) -> None:
    cls, twin = getattr(agentstate_redis, name), getattr(sync, name)
    assert twin is not cls and twin.__name__ == name and twin.__module__ == "agentstate_redis.sync"
    assert twin.__doc__ == cls.__doc__
    assert inspect.signature(twin) == inspect.signature(cls)
    ours, theirs = _public(twin), _public(cls)
    assert sorted(ours) == sorted(theirs)
    for method, member in theirs.items():
        mine = ours[method]
        if isinstance(member, property):
            assert isinstance(mine, property), method
            continue
        if not callable(member) and not isinstance(member, (staticmethod, classmethod)):
            assert mine == member, method
            continue
        func = getattr(twin, method)
        assert not _is_async(func), f"{name}.{method} is still async"
        assert inspect.signature(func) == inspect.signature(getattr(cls, method)), f"{name}.{method}"
        assert func.__doc__ == getattr(cls, method).__doc__, f"{name}.{method}"
    if hasattr(cls, "__aenter__"):
        assert hasattr(twin, "__enter__") and hasattr(twin, "__exit__")


def test_models_enums_errors_are_the_same_objects() -> None:
    twinned = set(_classes_with_coroutines()) | {"AgentStateTracking"}
    same = [n for n in agentstate_redis.__all__ if n not in twinned]
    assert {
        "AgentCheckpoint",
        "WorkflowStatus",
        "InvalidInputError",
        "StateConfig",
        "ChangeEvent",
        "CapturedState",
    } <= set(same)
    for name in same:
        assert getattr(sync, name) is getattr(agentstate_redis, name), name
    assert set(agentstate_redis.__all__) <= set(sync.__all__)


def test_run_worker_twin() -> None:
    assert inspect.signature(sync.run_worker) == inspect.signature(async_run_worker)
    assert sync.run_worker.__doc__ == async_run_worker.__doc__
    assert not inspect.iscoroutinefunction(sync.run_worker)
    assert sync.WorkerStats is agentstate_redis.worker.WorkerStats


def test_tracking_mixin_twins() -> None:
    """Both faces have the seed's eight methods with its parameters; the sync face's are plain functions."""
    seed = {
        "record_approval": ["tool_name", "approved", "action", "tool_input"],
        "record_tool_usage": ["tool_name", "increment"],
        "update_workflow_state": ["run_id", "status", "current_node", "node_results", "execution_time", "kwargs"],
        "_get_approval_history": [],
        "_get_tool_usage_counts": [],
        "_get_workflow_state": [],
        "_capture_state": None,
        "_restore_state": ["checkpoint_state"],
    }
    a, s = async_tracking.AgentStateTracking, sync.AgentStateTracking
    assert agentstate_redis.AgentStateTracking is a
    for name, params in seed.items():
        af, sf = getattr(a, name), getattr(s, name)
        assert inspect.iscoroutinefunction(af) and not _is_async(sf), name
        assert inspect.signature(sf) == inspect.signature(af) and sf.__doc__ == af.__doc__, name
        if params is not None:
            assert [p for p in inspect.signature(af).parameters if p != "self"] == params, name
    assert inspect.signature(a.record_approval).parameters["action"].default == "once"
    assert inspect.signature(a.record_tool_usage).parameters["increment"].default == 1
    coroutines = {n for n, m in vars(a).items() if inspect.iscoroutinefunction(m)}
    assert coroutines == {n for n, m in vars(s).items() if callable(m) and not n.startswith("__")} - {"_check_store"}

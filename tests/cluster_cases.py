"""A suite's own test functions, marked ``@on_cluster``, run again on the three-primary test cluster.

In the suite (``tests/agents/test_agents.py``)::

    @on_cluster
    async def test_lease_fences_writes(store: AgentStateStore) -> None: ...

and in its cluster module (``tests/agents/test_agents_cluster.py``)::

    test_agent_cases_on_cluster = cases_on_cluster(test_agents, partial(AgentStateStore, max_checkpoints=3))

The module attribute names the test and each marked function is one parameter named for itself, so the
node ids are ``test_agent_cases_on_cluster[test_lease_fences_writes]`` and so on. A marked case takes one
argument: the manager ``make(backend=cluster_backend)`` builds, or without ``make`` the backend itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any, TypeVar

import pytest

from agentstate_redis import RedisBackend

Case = Callable[[Any], Awaitable[None]]
F = TypeVar("F", bound=Case)


def on_cluster(case: F) -> F:
    """Mark a suite's test to run again on the cluster (see ``cases_on_cluster``)."""
    case.on_cluster = True  # type: ignore[attr-defined]
    return case


def cluster_cases(suite: ModuleType) -> list[Case]:
    """The tests of ``suite`` marked ``@on_cluster``, in the order they are defined."""
    cases = [value for value in vars(suite).values() if getattr(value, "on_cluster", False) is True]
    assert cases, f"{suite.__name__} marks no test @on_cluster"
    return cases


def manager_on_cluster(make: Callable[..., Any]) -> Any:
    """A fixture of ``make(backend=cluster_backend)``, named by the module attribute it is assigned to::

    cluster_tools = manager_on_cluster(ToolStateManager)
    """

    @pytest.fixture
    def manager(cluster_backend: RedisBackend) -> Any:
        return make(backend=cluster_backend)

    return manager


def _backend_itself(backend: RedisBackend) -> RedisBackend:
    return backend


def cases_on_cluster(suite: ModuleType, make: Callable[..., Any] = _backend_itself) -> Any:
    """A test that runs each ``@on_cluster`` test of ``suite`` with ``make(backend=cluster_backend)``."""

    @pytest.mark.parametrize("case", cluster_cases(suite), ids=lambda c: c.__name__)
    async def test(cluster_backend: RedisBackend, case: Case) -> None:
        await case(make(backend=cluster_backend))

    return test

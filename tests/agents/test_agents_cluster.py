"""The agents suite's key cases (marked ``@on_cluster`` in test_agents and test_lineage)
on a Redis Cluster of three primaries: every script is single-slot."""

from __future__ import annotations

from functools import partial

import pytest

from agentstate_redis import AgentStateStore

from ..cluster_cases import cases_on_cluster
from . import test_agents, test_lineage

pytestmark = pytest.mark.cluster


test_agent_cases_on_cluster = cases_on_cluster(
    test_agents, partial(AgentStateStore, max_snapshots=3, max_checkpoints=3)
)


test_lineage_cases_on_cluster = cases_on_cluster(test_lineage, partial(AgentStateStore, max_checkpoints=4))

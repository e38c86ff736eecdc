"""The core suite (the tests of test_state marked ``@on_cluster``) on a Redis Cluster of three primaries
started by the tests."""

from __future__ import annotations

import asyncio

import pytest
import redis

from agentstate_redis import StateManager, VersionConflictError

from ..cluster import RedisClusterFixture
from ..cluster_cases import cases_on_cluster, manager_on_cluster
from ..state import test_state

pytestmark = pytest.mark.cluster


cluster_state = manager_on_cluster(StateManager)
test_core_suite_on_cluster = cases_on_cluster(test_state, StateManager)


async def test_keys_spread_over_every_primary_and_list_keys_sees_them(
    cluster_state: StateManager, redis_cluster: RedisClusterFixture
) -> None:
    names = [f"agent:{i}" for i in range(60)]
    for name in names:
        await cluster_state.save(name, {"n": name})
    per_node = []
    for node in redis_cluster.nodes:
        client = redis.Redis(port=node.port, decode_responses=True)
        per_node.append(sum(1 for _ in client.scan_iter(match=f"{cluster_state.keys.prefix}{{state:*}}")))
    assert all(count > 0 for count in per_node), per_node
    assert await cluster_state.list_keys("agent:*") == sorted(names)


async def test_expiry_events_from_every_primary(cluster_state: StateManager) -> None:
    expired: set[str] = set()
    await cluster_state.subscribe("ttl:*", lambda key, old, new: expired.add(key) if new is None else None)
    names = {f"ttl:{i}" for i in range(12)}
    for name in names:
        await cluster_state.save(name, {}, ttl=0.2)
    await asyncio.sleep(0.3)
    for name in names:  # a read expires the key at once, wherever the active expiry cycle is
        assert await cluster_state.get(name) is None
    for _ in range(100):
        if expired == names:
            break
        await asyncio.sleep(0.05)
    assert expired == names


async def test_conditional_writes_on_cluster(cluster_state: StateManager) -> None:
    await cluster_state.save("c", {"n": 1})
    with pytest.raises(VersionConflictError):
        await cluster_state.save("c", {"n": 2}, expected_version=0)

"""Redis Cluster failover under load: three primaries with one replica each, started here.

A primary is SIGKILLed while a fleet of worker processes runs the task queue and the
core state on its slots. The clients follow the new topology (MOVED, reinitialisation,
tenacity retries), no call fails (a CROSSSLOT or any other error reply would end a
worker with an error), no task is lost or completed twice, no acknowledged write is
lost. Keyspace-notification subscriptions must follow the topology too.

Before the kill, writes are paused on the victim (CLIENT PAUSE WRITE) until its replica
has every acknowledged write: Redis replication is asynchronous, so without that a
write acknowledged in the last milliseconds before a crash could be lost by any
Redis Cluster client (see RedisClusterFixture.kill_primary).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from redis.crc import key_slot

from agentstate_redis import OrchestrationStateManager, RedisBackend, StateManager
from agentstate_redis.embedded import EmbeddedRedis

from ..cluster import RedisClusterFixture
from ..procs import run_processes
from ..waiting import eventually
from ..workers_reliability import fleet_worker
from .fleet_checks import assert_each_task_completed_once, assert_no_acknowledged_write_lost

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

WORKERS = 4
BATCH = 300


@pytest.fixture
def cluster() -> Iterator[RedisClusterFixture]:
    """A fresh 3 x (primary + replica) cluster per test: each test kills a primary."""
    fixture = RedisClusterFixture.start(primaries=3, replicas_per_primary=1)
    try:
        fixture.wait_for_sync()
        yield fixture
    finally:
        fixture.stop()


def _url(cluster: RedisClusterFixture) -> str:
    live = next(n for n in cluster.nodes + cluster.replicas if cluster.alive(n))
    return f"redis+cluster://127.0.0.1:{live.port}"


def _name_on(cluster: RedisClusterFixture, node: EmbeddedRedis, base: str, key: Any) -> str:
    """The first ``base-<n>`` whose key (``key(name)``) lives in ``node``'s slots."""
    for n in range(10_000):
        name = f"{base}-{n}"
        if cluster.primary_for_slot(key_slot(key(name).encode()), node).port == node.port:  # node's own view
            return name
    raise LookupError(f"no {base}-<n> hashes to port {node.port}")


async def test_fleet_rides_through_a_primary_failover(cluster: RedisClusterFixture, prefix: str) -> None:
    url = cluster.url
    backend = RedisBackend(url, key_prefix=prefix, retry_seconds=45)
    orch = OrchestrationStateManager(backend=backend, completed_retention=10_000)
    state = StateManager(backend=backend)
    victim = cluster.nodes[1]
    # the team and the shared counter live on the primary that will die; the workers'
    # own keys are spread over the three primaries
    team = _name_on(cluster, victim, "fleet", lambda n: backend.keys.team(n).base)
    counter = _name_on(cluster, victim, "counter", lambda n: backend.keys.state(n).base)
    ids = [f"t{i}" for i in range(2 * BATCH)]
    try:
        await orch.create_team(team)
        await state.save(counter, {"n": 0})
        await orch.enqueue_tasks(team, [{"id": t} for t in ids[:BATCH]])

        async def completed(n: int) -> bool:
            return (await orch.get_queue_status(team, page_size=0)).completed_total >= n

        args = [(url, prefix, team, f"w{i}", counter, "done") for i in range(WORKERS)]
        fleet = asyncio.ensure_future(asyncio.to_thread(run_processes, fleet_worker, args, 240))
        await eventually(lambda: completed(BATCH // 3), timeout=120.0, what="the fleet to get going", fleet=fleet)

        replica = await asyncio.to_thread(cluster.kill_primary, victim)
        killed = time.time()
        await asyncio.to_thread(cluster.wait_for_failover, replica)
        promoted = time.time()
        assert cluster.primary_for_slot(key_slot(backend.keys.team(team).base.encode()), replica).port == replica.port

        await orch.enqueue_tasks(team, [{"id": t} for t in ids[BATCH:]])  # through the new primary
        await state.save("done", {"at": time.time()})
        results: list[dict[str, Any]] = await fleet  # any error reply in a worker (CROSSSLOT...) fails here

        await assert_each_task_completed_once(orch, team, ids, results)
        increments = await assert_no_acknowledged_write_lost(state, counter, results)
        # SCAN on every primary follows the topology too
        assert sorted(await state.list_keys("own:*")) == sorted(r["own_key"] for r in results)

        back = [
            min(end for start, end in r["gaps"] if end >= killed) - killed
            for r in results
            if any(end >= killed for _, end in r["gaps"])
        ]
        print(
            f"\nfailover: {len(ids)} tasks, {increments} CAS increments, {sum(r['calls'] for r in results)} calls; "
            f"replica promoted {promoted - killed:.2f}s after the kill; workers' first acknowledged call "
            f"{min(back):.2f}-{max(back):.2f}s after the kill; "
            f"late completions refused: {sum(len(r['refused']) for r in results)}"
        )
    finally:
        await backend.close()


async def test_expiry_and_change_events_follow_a_failover(cluster: RedisClusterFixture, prefix: str) -> None:
    backend = RedisBackend(cluster.url, key_prefix=prefix, retry_seconds=45)
    state = StateManager(backend=backend)
    seen: list[tuple[str, str]] = []
    try:
        await backend.events.subscribe("state", "*", lambda e: seen.append((e.op, e.id)))
        # kill the primary that also carries the hub's prefix-wide PSUBSCRIBE (the worst case)
        pattern_node = (await backend.pubsub_clients())[0].connection_pool.connection_kwargs["port"]
        victim = cluster.node_at(pattern_node)
        replica = cluster.replica_of(victim)

        async def events_reach_us(node: EmbeddedRedis, within: float, phase: str) -> str:
            """Save keys (ttl 0.5 s) in ``node``'s slots until one's save and expiry both arrive.

            Pub/sub is at-most-once: events sent while the hub re-subscribes are lost, so
            probe again every few seconds instead of expecting the first probe to land.
            """
            deadline = time.monotonic() + within
            for probe in range(1000):
                name = _name_on(cluster, node, f"{phase}{probe}", lambda n: backend.keys.state(n).base)
                await state.save(name, {"v": probe}, ttl=0.5)
                try:
                    await eventually(
                        lambda name=name: _has(seen, ("save", name), ("expired", name)), timeout=3.0, what=name
                    )
                    return name
                except AssertionError:
                    if time.monotonic() > deadline:
                        raise AssertionError(
                            f"no save+expired event pair from port {node.port} within {within}s; got {seen[-6:]}"
                        ) from None
            raise AssertionError("unreachable")

        await events_reach_us(victim, within=10, phase="before")
        await asyncio.to_thread(cluster.kill_primary, victim)
        killed = time.time()
        await asyncio.to_thread(cluster.wait_for_failover, replica)
        # keys in the slots the promoted replica now serves
        await events_reach_us(replica, within=20, phase="after")
        print(f"\nevents: save+expiry from the promoted replica arrive {time.time() - killed:.2f}s after the kill")
    finally:
        await backend.close()


async def _has(seen: list[tuple[str, str]], *wanted: tuple[str, str]) -> bool:
    return all(w in seen for w in wanted)

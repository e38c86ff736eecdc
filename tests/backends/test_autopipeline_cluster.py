"""Automatic pipelining per primary on a three-primary cluster: batching, MOVED, ASK, a node dying mid-batch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from agentstate_redis import (
    BackendUnavailableError,
    OrchestrationStateManager,
    OutcomeUnknownError,
    RedisBackend,
    StateManager,
    VersionConflictError,
)
from agentstate_redis.autopipeline_cluster import ClusterAutoPipeline
from agentstate_redis.backends.redis_connection_packing import _HiredisPacking
from agentstate_redis.backends.redis_connection_write import _DirectWrite
from agentstate_redis.embedded import EmbeddedRedis

from ..cluster import RedisClusterFixture

pytestmark = pytest.mark.cluster


@pytest.fixture
def own_cluster() -> Iterator[RedisClusterFixture]:
    """A cluster of its own: these tests move slots and kill nodes."""
    cluster = RedisClusterFixture.start(primaries=3)
    try:
        wait_until_every_node_knows_every_other(cluster)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def backend(own_cluster: RedisClusterFixture, prefix: str) -> AsyncIterator[RedisBackend]:
    """Retries span the ASK test's migration (its write gets TRYAGAIN until the slot has moved)."""
    b = await RedisBackend(own_cluster.url, key_prefix=prefix, retry_seconds=5.0).connect()
    yield b
    await b.close()


def wait_until_every_node_knows_every_other(cluster: RedisClusterFixture, timeout: float = 30.0) -> None:
    """cluster_state:ok comes before gossip has settled: CLUSTER SETSLOT ... IMPORTING <id> can still
    answer "Unknown node" on a node that has not met that id yet."""
    ids = set(node_ids(cluster).values())
    deadline = time.monotonic() + timeout
    while True:
        views = [node_client(n).execute_command("CLUSTER", "NODES").splitlines() for n in cluster.nodes]
        if all({line.split()[0] for line in view if "handshake" not in line.split()[2]} >= ids for view in views):
            return
        assert time.monotonic() < deadline, views
        time.sleep(0.05)


def sender_of(backend: RedisBackend) -> ClusterAutoPipeline:
    sender = backend._runner.sender  # type: ignore[union-attr]
    assert isinstance(sender, ClusterAutoPipeline)
    return sender


def node_client(node: EmbeddedRedis) -> redis.Redis:
    return redis.Redis(port=node.port, decode_responses=True)


def evalsha_stats(node: EmbeddedRedis) -> tuple[int, int]:
    """(calls, rejected_calls) of EVALSHA on ``node``: a MOVED or ASK reply is a rejected call."""
    stats = node_client(node).info("commandstats").get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)), int(stats.get("rejected_calls", 0))


async def saved_concurrently(state: StateManager, stem: str, n: int) -> list[str]:
    """The names ``<stem>0`` ... ``<stem><n-1>``, each saved (all at once) and at version 1."""
    names = [f"{stem}{i}" for i in range(n)]
    assert await asyncio.gather(*(state.save(name, {"v": 1}) for name in names)) == [1] * n
    return names


def slot_of(backend: RedisBackend, name: str) -> int:
    return int(backend.client.keyslot(f"{{state:{name}}}"))


def node_ids(cluster: RedisClusterFixture) -> dict[int, str]:
    return {n.port: node_client(n).execute_command("CLUSTER", "MYID") for n in cluster.nodes}


def start_migration(cluster: RedisClusterFixture, slot: int, source: EmbeddedRedis, target: EmbeddedRedis) -> None:
    """Mark ``slot`` migrating from ``source`` to ``target`` and move every key of it there."""
    ids = node_ids(cluster)
    node_client(target).execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[source.port])
    node_client(source).execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[target.port])
    src = node_client(source)
    while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
        src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)


def finish_migration(cluster: RedisClusterFixture, slot: int, source: EmbeddedRedis, target: EmbeddedRedis) -> None:
    ids = node_ids(cluster)
    for node in [target, source] + [n for n in cluster.nodes if n not in (source, target)]:
        node_client(node).execute_command("CLUSTER", "SETSLOT", slot, "NODE", ids[target.port])


def other_primary(cluster: RedisClusterFixture, node: EmbeddedRedis) -> EmbeddedRedis:
    return next(n for n in cluster.nodes if n is not node)


def source_and_target(cluster: RedisClusterFixture, slot: int) -> tuple[EmbeddedRedis, EmbeddedRedis]:
    """The primary that owns ``slot``, and another primary to move it to."""
    source = cluster.primary_for_slot(slot)
    return source, other_primary(cluster, source)


def move_slot(cluster: RedisClusterFixture, slot: int) -> tuple[EmbeddedRedis, EmbeddedRedis]:
    """Move ``slot`` and its keys to another primary behind the client's back (its slot map still names the
    old owner); returns (old owner, new owner)."""
    source, target = source_and_target(cluster, slot)
    start_migration(cluster, slot, source, target)
    finish_migration(cluster, slot, source, target)
    return source, target


async def test_concurrent_calls_for_one_primary_share_pipelines(cluster_backend: RedisBackend) -> None:
    state = StateManager(backend=cluster_backend)
    sender = sender_of(cluster_backend)
    conn_class = cluster_backend.client.get_connection_kwargs()["connection_class"]
    assert issubclass(conn_class, _DirectWrite) and issubclass(conn_class, _HiredisPacking)
    await state.save("shared", {"n": 0})
    results = await asyncio.gather(
        *(state.save(f"k{i}", {"i": i}) for i in range(300)),
        *(state.save("shared", {"n": 1}, expected_version=1) for _ in range(20)),
        return_exceptions=True,
    )
    saves, conditional = results[:300], results[300:]
    assert saves == [1] * 300
    assert sum(1 for r in conditional if r == 2) == 1  # one conditional write wins, in a batch with the others
    assert all(isinstance(r, VersionConflictError) for r in conditional if r != 2)  # each loser gets its own error
    assert [await state.get(f"k{i}") for i in range(0, 300, 60)] == [{"i": i} for i in range(0, 300, 60)]
    primaries = {node.name for node in cluster_backend.client.get_primaries()}
    assert set(sender.pipelines_sent) == primaries, sender.pipelines_sent  # every primary got batches
    assert sum(sender.pipelines_sent.values()) < 100, sender.pipelines_sent  # 320 calls, far fewer round trips
    for node in cluster_backend.client.get_primaries():  # the fast connection classes are the ones in use
        assert all(isinstance(c, _DirectWrite) for c in node._connections)


async def test_autopipeline_off_sends_through_redis_py(redis_cluster: RedisClusterFixture, prefix: str) -> None:
    backend = await RedisBackend(redis_cluster.url, key_prefix=prefix, autopipeline=False).connect()
    try:
        assert backend._runner.sender is backend.client  # type: ignore[union-attr]
        state = StateManager(backend=backend)
        assert await asyncio.gather(*(state.save(f"off{i}", {"i": i}) for i in range(30))) == [1] * 30
    finally:
        await backend.close()


async def test_moved_after_a_slot_migration_is_followed_and_the_write_lands_once(
    backend: RedisBackend, own_cluster: RedisClusterFixture
) -> None:
    state = StateManager(backend=backend)
    assert await state.save("mover", {"v": 1}) == 1
    slot = slot_of(backend, "mover")
    source, target = move_slot(own_cluster, slot)  # the client's slot map still says source
    before_src, before_dst = evalsha_stats(source), evalsha_stats(target)
    assert await state.save("mover", {"v": 2}, expected_version=1) == 2
    after_src, after_dst = evalsha_stats(source), evalsha_stats(target)
    assert after_src[1] - before_src[1] == 1 and after_src[0] == before_src[0]  # refused there (MOVED), not run
    assert after_dst[0] - before_dst[0] == 1  # run once, on the new owner
    assert backend.client.nodes_manager.get_node_from_slot(slot).port == target.port  # the map learnt it
    assert await state.get("mover") == {"v": 2}


async def test_moved_inside_a_batch_requeues_only_the_moved_commands(
    backend: RedisBackend, own_cluster: RedisClusterFixture
) -> None:
    state = StateManager(backend=backend)
    names = await saved_concurrently(state, "b", 200)
    slot = slot_of(backend, names[0])
    _, target = move_slot(own_cluster, slot)
    moved = [n for n in names if slot_of(backend, n) == slot]
    versions = await asyncio.gather(*(state.save(n, {"v": 2}, expected_version=1) for n in names))
    assert versions == [2] * 200  # every write, moved or not, applied exactly once
    assert await state.get(moved[0]) == {"v": 2}
    assert node_client(target).execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) > 0


async def test_ask_during_a_migration_sends_the_call_to_the_importing_node(
    backend: RedisBackend, own_cluster: RedisClusterFixture
) -> None:
    # A team: its counters script takes one key (the team hash), its writes three (with the op-id keys)
    orch = OrchestrationStateManager(backend=backend)
    await orch.create_team("asked")
    slot = int(backend.client.keyslot(backend.keys.team("asked").base))
    source, target = source_and_target(own_cluster, slot)
    start_migration(own_cluster, slot, source, target)  # keys moved, slot still owned by source: ASK
    before_src, before_dst = evalsha_stats(source), evalsha_stats(target)
    assert (await orch.get_team_counters("asked")).completed_total == 0  # ASK, then ASKING + the script there
    after_src, after_dst = evalsha_stats(source), evalsha_stats(target)
    assert after_src[1] - before_src[1] == 1 and after_dst[0] - before_dst[0] == 1
    assert backend.client.nodes_manager.get_node_from_slot(slot).port == source.port  # ASK does not move the map
    # A script naming keys that do not exist yet (the previous op-id generation): mid-migration the target
    # answers TRYAGAIN, which the runner retries (a refusal) until the migration ends; then MOVED, and it
    # lands once.
    write = asyncio.ensure_future(orch.enqueue_task("asked", {"id": "t1"}))
    await asyncio.sleep(0.3)
    assert not write.done()
    finish_migration(own_cluster, slot, source, target)
    assert await write == "t1"
    assert (await orch.get_queue_status("asked")).pending_count == 1


async def test_redirects_are_bounded_with_a_clear_error(
    backend: RedisBackend, own_cluster: RedisClusterFixture
) -> None:
    state = StateManager(backend=backend)
    await state.save("bounded", {"v": 1})
    sender_of(backend).max_redirects = 0
    slot = slot_of(backend, "bounded")
    move_slot(own_cluster, slot)
    with pytest.raises(BackendUnavailableError, match=r"redirected 0 times.*did not run"):
        await state.save("bounded", {"v": 2})
    sender_of(backend).max_redirects = 5
    assert await state.save("bounded", {"v": 3}, expected_version=1) == 2  # the refused write never ran


async def test_a_primary_dying_mid_batch_gives_typed_errors_and_spares_the_others(
    backend: RedisBackend, own_cluster: RedisClusterFixture
) -> None:
    state = StateManager(backend=backend)
    names = await saved_concurrently(state, "d", 120)
    doomed = own_cluster.nodes[1]
    on_doomed = [n for n in names if own_cluster.primary_for_slot(slot_of(backend, n)) is doomed]
    elsewhere = [n for n in names if n not in on_doomed]
    assert on_doomed and elsewhere
    node_client(doomed).execute_command("CLIENT", "PAUSE", 10_000, "WRITE")  # its writes wait: in flight
    sent_before = sum(sender_of(backend).pipelines_sent.values())
    writes = [asyncio.ensure_future(state.save(n, {"v": 2})) for n in names]
    for _ in range(200):
        await asyncio.sleep(0.01)
        if sum(sender_of(backend).pipelines_sent.values()) > sent_before and all(
            writes[names.index(n)].done() for n in elsewhere
        ):
            break
    doomed.stop(kill=True)
    results = await asyncio.gather(*writes, return_exceptions=True)
    by_name = dict(zip(names, results))
    assert all(by_name[n] == 2 for n in elsewhere)
    assert all(isinstance(by_name[n], OutcomeUnknownError) for n in on_doomed), {
        type(by_name[n]).__name__ for n in on_doomed
    }
    with pytest.raises(BackendUnavailableError):  # a read of the dead primary's keys: nothing can apply
        await state.get(on_doomed[0])
    assert await state.get(elsewhere[0]) == {"v": 2}


async def test_after_a_primary_dies_only_its_calls_read_the_slot_map_until_it_moves(
    own_cluster: RedisClusterFixture, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = await RedisBackend(own_cluster.url, key_prefix=prefix, retry_seconds=1.0).connect()
    try:
        state = StateManager(backend=backend)
        names = [f"m{i}" for i in range(60)]
        await asyncio.gather(*(state.save(n, {"v": 1}) for n in names))
        doomed = own_cluster.nodes[1]
        on_doomed = next(n for n in names if own_cluster.primary_for_slot(slot_of(backend, n)) is doomed)
        elsewhere = next(n for n in names if own_cluster.primary_for_slot(slot_of(backend, n)) is not doomed)
        nodes = backend.client.nodes_manager
        real_initialize = type(nodes).initialize
        refreshes: list[str] = []
        failing = True

        async def initialize(self: object, *args: object, **kwargs: object) -> None:
            refreshes.append("refresh")
            if failing:  # what redis-py raises when the nodes answer with maps it cannot use
                raise redis.exceptions.RedisClusterException("startup_nodes could not agree on a valid slots cache")
            await real_initialize(self, *args, **kwargs)  # type: ignore[arg-type]

        heir = other_primary(own_cluster, doomed)
        heir_id = node_ids(own_cluster)[heir.port]
        entry = next(e for e in own_cluster.topology() if e["port"] == doomed.port)
        dead_slots = [s for lo, hi in entry["slots"] for s in range(lo, hi + 1)]  # type: ignore[attr-defined]
        monkeypatch.setattr(type(nodes), "initialize", initialize)  # the class: NodesManager has __slots__
        doomed.stop(kill=True)
        # each retry of a call to the dead node reads the map again; a refresh that fails keeps the
        # call's own connection error (typed, after the retries), never a topology error
        with pytest.raises(BackendUnavailableError, match="backend unreachable"):
            await state.get(on_doomed)
        assert len(refreshes) >= 2
        # the dead node's trouble costs the healthy nodes' calls nothing: no refresh before them
        refreshes.clear()
        assert await state.get(elsewhere) == {"v": 1}
        assert refreshes == []
        # its slots move to a live primary (as a failover moves them to a replica): the next call follows
        failing = False
        for node in [n for n in own_cluster.nodes if n is not doomed]:
            pipe = node_client(node).pipeline(transaction=False)
            for slot in dead_slots:
                pipe.execute_command("CLUSTER", "SETSLOT", slot, "NODE", heir_id)
            pipe.execute()
        await state.save(on_doomed, {"v": 3})
        assert await state.get(on_doomed) == {"v": 3}
        assert own_cluster.primary_for_slot(slot_of(backend, on_doomed), heir) is heir
    finally:
        await backend.close()

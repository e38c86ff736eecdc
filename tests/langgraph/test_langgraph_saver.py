"""The LangGraph saver's own guarantees, beyond the conformance suite.

- TTL: every key of a thread (and the index entries) carries one, they expire together, and
  refresh_on_read restarts them; after delete_thread nothing of the thread remains.
- A restricted ACL user (no CONFIG, KEYS, MODULE, SCAN) passes the whole conformance suite, and the
  server's command statistics show no module command, no KEYS and no SCAN from the saver.
- No pickle: a stored payload that asks for pickle is refused; a value only pickle could store too.
- Concurrent writers (several processes) never corrupt a thread; with ``lease=`` a stale writer's
  put is refused with LeaseError.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any
from urllib.parse import quote

import pytest
import redis
import redis.asyncio as aioredis
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from agentstate_redis import EmbeddedRedis, InvalidInputError, LeaseError, RedisBackend
from agentstate_redis.keys import escape_glob
from agentstate_redis.langgraph import AsyncCheckpointSaver, PickleRefusedError

from ..acl_users import add_user
from ..langgraph_conformance import assert_full, run_conformance
from ..procs import run_processes
from ..workers_langgraph import write_checkpoints


async def _put(
    saver: AsyncCheckpointSaver,
    thread_id: str,
    ns: str = "",
    parent: str | None = None,
    run_id: str = "run-1",
    value: Any = "v",
) -> dict[str, Any]:
    cp = empty_checkpoint()
    version = saver.get_next_version(None, None)
    cp["channel_versions"] = {"messages": version}
    cp["channel_values"] = {"messages": value}
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}
    if parent:
        config["configurable"]["checkpoint_id"] = parent
    stored = await saver.aput(config, cp, {"source": "loop", "step": 1, "run_id": run_id}, {"messages": version})
    await saver.aput_writes(stored, [("messages", "w"), ("__interrupt__", {"ask": 1})], "task-1", "p")
    return stored


async def _keys(client: Any, prefix: str) -> list[str]:
    return sorted([k async for k in client.scan_iter(match=escape_glob(prefix) + "*", count=1000)])


async def test_every_key_of_a_thread_carries_the_ttl_and_refresh_on_read_restarts_it(
    redis_url: str, prefix: str
) -> None:
    saver = AsyncCheckpointSaver(
        "redis", redis_url=redis_url, key_prefix=prefix, ttl={"default_ttl": 2, "refresh_on_read": True}
    )
    first = await _put(saver, "t1")
    await _put(saver, "t1", ns="child:1", run_id="run-2")
    await _put(saver, "t1", parent=first["configurable"]["checkpoint_id"])
    raw = saver.store.backend.client
    keys = await _keys(raw, prefix)
    assert any("{lgthread:t1}:blobs" in k for k in keys) and any("{idx:lgrun:run-2}" in k for k in keys)
    ttls = {k: await raw.pttl(k) for k in keys}
    assert all(0 < t <= 240_000 for t in ttls.values()), ttls  # thread keys 2 min, indexes 4 min, op ids 2 min
    data = {k: t for k, t in ttls.items() if "{lgthread:" in k and ":ops:" not in k}
    assert len(data) >= 9 and max(data.values()) - min(data.values()) < 5_000, data  # expire together

    await asyncio.sleep(1.2)
    before = await raw.pttl(f"{prefix}{{lgthread:t1}}:ck")
    assert await saver.aget_tuple({"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}) is not None
    after = {k: await raw.pttl(k) for k in data}
    assert min(after.values()) > before, (before, after)  # every key restarted, not just the one read
    await saver.aclose()


async def test_keys_really_expire_and_the_registry_forgets_the_thread(redis_url: str, prefix: str) -> None:
    saver = AsyncCheckpointSaver("redis", redis_url=redis_url, key_prefix=prefix, ttl={"default_ttl": 0.02})
    await _put(saver, "short")
    raw = saver.store.backend.client
    deadline = time.monotonic() + 15

    def data(keys: list[str]) -> list[str]:
        return [k for k in keys if "{lgthread:" in k and ":ops:" not in k]

    while data(await _keys(raw, prefix)) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    keys = await _keys(raw, prefix)
    assert data(keys) == []
    for k in keys:  # what is left is the op-id memory (its own window) and the index, all with a TTL
        assert 0 < await raw.pttl(k) <= 120_000, k
    assert [t async for t in saver.alist(None)] == []  # the registry entry's deadline has passed too
    await saver.aclose()


async def test_delete_thread_leaves_nothing_of_the_thread(redis_backend: RedisBackend, prefix: str) -> None:
    saver = AsyncCheckpointSaver(backend=redis_backend)
    first = await _put(saver, "gone")
    await _put(saver, "gone", parent=first["configurable"]["checkpoint_id"], run_id="run-2")
    await _put(saver, "gone", ns="child:1", run_id="run-3")
    await _put(saver, "kept", run_id="run-2")
    raw = redis_backend.client
    assert any("{lgthread:gone}" in k for k in await _keys(raw, prefix))
    await saver.adelete_thread("gone")
    left = await _keys(raw, prefix)
    assert not [k for k in left if "gone" in k], left
    for k in left:  # the indexes list only the other thread
        if "{idx:" in k:
            assert await raw.zrange(k, 0, -1) == ["kept"], k
    assert [t.config["configurable"]["thread_id"] async for t in saver.alist(None)] == ["kept"]
    await saver.adelete_thread("kept")
    assert await _keys(raw, prefix) == []


@pytest.fixture
def restricted() -> Any:
    """A server with a user refused CONFIG, KEYS, MODULE and SCAN (and all @dangerous commands)."""
    with EmbeddedRedis() as server:
        admin = redis.Redis.from_url(server.url, decode_responses=True)
        refused = ["-config", "-keys", "-module", "-scan"]
        add_user(admin, "graph", keys=["lg*"], channels=["lg*"], commands=["+@all", "-@dangerous", *refused])
        yield server, admin
        admin.close()


async def test_an_acl_user_without_config_keys_module_passes_and_sends_no_such_command(restricted: Any) -> None:
    server, admin = restricted
    url = f"redis://graph:{quote('graph-pw')}@127.0.0.1:{server.port}/0"
    probe = aioredis.Redis.from_url(url)
    for refused in (("CONFIG", "GET", "maxmemory"), ("KEYS", "*"), ("MODULE", "LIST"), ("SCAN", "0")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            await probe.execute_command(*refused)
    await probe.aclose()
    admin.config_resetstat()
    assert_full(await run_conformance(lambda prefix: RedisBackend(url, key_prefix=prefix)))
    stats = admin.info("commandstats")
    used = {name.removeprefix("cmdstat_").lower() for name in stats}
    assert "evalsha" in used
    forbidden = {
        c for c in used if c in {"keys", "scan", "module", "config"} or c.startswith(("ft.", "json.", "module"))
    }
    assert forbidden == set(), forbidden
    assert all(stats[name].get("rejected_calls", 0) == 0 for name in stats if "eval" in name), stats


async def test_a_stored_pickle_payload_is_refused(redis_backend: RedisBackend) -> None:
    saver = AsyncCheckpointSaver(backend=redis_backend)
    stored = await _put(saver, "p")
    ck = f"{redis_backend.keys.prefix}{{lgthread:p}}:ck"
    field = "c\x00" + stored["configurable"]["checkpoint_id"]
    await redis_backend.client.hset(ck, field, "pickle:" + b"\x80\x04K\x01.".decode("latin-1"))
    with pytest.raises(PickleRefusedError, match="unpickled"):
        await saver.aget_tuple(stored)


async def test_values_only_pickle_could_store_are_refused_and_nothing_is_written(redis_backend: RedisBackend) -> None:
    class PickleOnly(JsonPlusSerializer):
        def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
            return "pickle", b"\x80\x04N."

    with pytest.raises(InvalidInputError, match="pickle_fallback"):
        AsyncCheckpointSaver(backend=redis_backend, serde=JsonPlusSerializer(pickle_fallback=True))
    saver = AsyncCheckpointSaver(backend=redis_backend, serde=PickleOnly())
    with pytest.raises(PickleRefusedError, match="pickle"):
        await _put(saver, "q")
    assert await _keys(redis_backend.client, redis_backend.keys.prefix) == []


def test_two_processes_writing_one_thread_never_corrupt_it(redis_url: str, prefix: str) -> None:
    """Two processes interleave 25 puts + writes each on one thread (no lease): every checkpoint
    loads whole with its own values and exactly its writes, and after prune(keep_latest) the
    thread holds exactly the blobs the survivor reads (reference counts stayed exact)."""
    thread_id = f"shared-{uuid.uuid4().hex[:6]}"
    results = run_processes(write_checkpoints, [(redis_url, prefix, thread_id, w, 25, None) for w in range(2)])

    async def check() -> None:
        saver = AsyncCheckpointSaver("redis", redis_url=redis_url, key_prefix=prefix)
        seen = [t async for t in saver.alist({"configurable": {"thread_id": thread_id}})]
        assert sorted(t.checkpoint["id"] for t in seen) == sorted(results[0] + results[1])
        for t in seen:
            w, i = t.metadata["worker"], t.metadata["step"]
            assert t.checkpoint["channel_values"] == {"shared": f"w{w}-{i}", f"own{w}": list(range(i))}
            assert sorted((c, v) for _, c, v in t.pending_writes) == [("__error__", f"e{i}"), ("shared", i)]
        await saver.aprune([thread_id])
        [kept] = [t async for t in saver.alist({"configurable": {"thread_id": thread_id}})]
        raw = saver.store.backend.client
        blobs = await raw.hkeys(f"{prefix}{{lgthread:{thread_id}}}:blobs")
        assert len(blobs) == len(kept.checkpoint["channel_versions"]) == 2
        await saver.aclose()

    asyncio.run(check())


def test_with_a_lease_only_one_of_two_processes_writes_a_thread(redis_url: str, prefix: str) -> None:
    """Two processes with lease=30 s on one thread: the first to write holds it; the other's
    first put is refused with LeaseError and it writes nothing."""
    thread_id = f"leased-{uuid.uuid4().hex[:6]}"
    results = run_processes(write_checkpoints, [(redis_url, prefix, thread_id, w, 10, 30.0) for w in range(2)])
    assert sorted(r["put"] for r in results) == [0, 10], results
    assert "lease held by" in next(r for r in results if r["put"] == 0)["reason"]


async def test_a_stale_writer_is_refused_after_its_lease_was_taken_over(redis_url: str, prefix: str) -> None:
    """Writer A's lease (0.3 s) lapses while it stalls; B takes the thread over; A's next put,
    carrying its old fencing token, is refused with LeaseError and changes nothing."""
    a = AsyncCheckpointSaver("redis", redis_url=redis_url, key_prefix=prefix, lease=0.3, owner="a")
    b = AsyncCheckpointSaver("redis", redis_url=redis_url, key_prefix=prefix, lease=30, owner="b")
    first = await _put(a, "t", value="from a")
    with pytest.raises(LeaseError, match="held by a"):
        await _put(b, "t", value="from b")
    await asyncio.sleep(0.5)
    taken = await _put(b, "t", parent=first["configurable"]["checkpoint_id"], value="from b")
    with pytest.raises(LeaseError, match="stale fencing token"):
        await _put(a, "t", parent=first["configurable"]["checkpoint_id"], value="late a")
    latest = await b.aget_tuple({"configurable": {"thread_id": "t", "checkpoint_ns": ""}})
    assert latest.config["configurable"]["checkpoint_id"] == taken["configurable"]["checkpoint_id"]
    assert latest.checkpoint["channel_values"] == {"messages": "from b"}
    assert len([t async for t in b.alist({"configurable": {"thread_id": "t"}})]) == 2
    await a.aclose()
    await b.aclose()


async def test_bad_input_gets_a_typed_error_naming_it_and_writes_nothing(redis_backend: RedisBackend) -> None:
    saver = AsyncCheckpointSaver(backend=redis_backend)
    cp = empty_checkpoint()
    bad: list[tuple[str, Any]] = [
        ("configurable", saver.aput({"thread": "x"}, cp, {}, {})),
        ("thread_id", saver.aput({"configurable": {"checkpoint_ns": ""}}, cp, {}, {})),
        ("control character", saver.aput({"configurable": {"thread_id": "a\nb"}}, cp, {}, {})),
        ("checkpoint_id", saver.aput_writes({"configurable": {"thread_id": "t"}}, [("c", 1)], "task")),
        ("strategy", saver.aprune(["t"], strategy="newest")),
        ("run_ids", saver.adelete_for_runs("run-1")),
    ]
    for what, call in bad:
        with pytest.raises(InvalidInputError, match=what):
            await call
    for ttl in ({"default_ttl": -1}, {"ttl": 5}, {"refresh_on_read": "yes"}, 30):
        with pytest.raises(InvalidInputError, match="ttl"):
            AsyncCheckpointSaver(backend=redis_backend, ttl=ttl)  # type: ignore[arg-type]
    assert await _keys(redis_backend.client, redis_backend.keys.prefix) == []

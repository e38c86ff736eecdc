"""The Lua runtime: script headers, EVALSHA/NOSCRIPT, op-id replay, typed error mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentstate_redis import NotFoundError, RedisBackend, StateManager, VersionConflictError
from agentstate_redis.backends.base import Backend, new_op_id
from agentstate_redis.errors import AgentStateError, InvalidTransitionError, LeaseError, from_script_error
from agentstate_redis.scripts import ScriptLibrary

LUA = Path(__file__).resolve().parent.parent / "lua"


def test_every_script_documents_itself() -> None:
    library = ScriptLibrary(LUA)
    assert "state/save" in library.scripts
    for name, script in library.scripts.items():
        header = script.source.split("\n\n", 1)[0]
        assert script.keys, f"{name}: header lists no KEYS"
        for line in ("-- Reply:", "-- Mode:", "-- Retry:"):
            assert line in header, f"{name}: header lacks {line!r}"
        if script.writes:
            assert script.retry_safe, f"{name}: a write must say why a retry is safe"


def test_includes_expand_and_user_data_is_never_spliced() -> None:
    library = ScriptLibrary(LUA)
    save = library["state/save"]
    assert "local function now_ms()" in save.source
    assert not [line for line in save.source.splitlines() if line.startswith("--@include")]
    assert save.keys[:3] == ["data hash", "ops hash", "ops order (sorted set)"] and len(save.keys) == 4
    for script in library.scripts.values():
        assert "loadstring" not in script.source and "load(" not in script.source


async def test_noscript_after_script_flush_reloads(redis_backend: RedisBackend) -> None:
    state = StateManager(backend=redis_backend)
    await state.save("a", {"n": 1})
    await redis_backend.client.script_flush()
    assert await state.update("a", {"n": 2}) == 2
    assert await state.get("a") == {"n": 2}


async def test_replayed_op_id_applies_once(backend: Backend) -> None:
    k = backend.keys.state("replay")
    keys = [k.base, k.ops, k.op_order, k("tomb")]
    op = new_op_id()
    args = [op, backend.channel("state", "replay"), "replay", "", 0, "1", ".n", "1"]
    first = await backend.run("state/update", keys, args)
    again = await backend.run("state/update", keys, args)
    assert first == again == "1"
    state = StateManager(backend=backend)
    assert await state.get_version("replay") == 1
    # a conditional save retried after it succeeded must not turn into a conflict
    save_args = [new_op_id(), "", "replay", "1", 0, ".n", "2"]
    assert await backend.run("state/save", keys, save_args) == "2"
    assert await backend.run("state/save", keys, save_args) == "2"
    assert await state.get("replay") == {"n": 2}


async def test_op_ids_are_kept_for_a_time_window_not_a_count(backend: Backend) -> None:
    """A busy entity must not forget an op id within seconds (a late retry would apply twice);
    ids older than the 60 s window are dropped, a bounded number per write."""
    state = StateManager(backend=backend)
    for i in range(300):
        await state.update("busy", {"i": i}, upsert=True)
    k = backend.keys.state("busy")
    assert await backend.client.hlen(k.ops) == 300
    assert await backend.client.zcard(k.op_order) == 300
    assert 0 < await backend.client.pttl(k.ops) <= 60_000
    (now_s, now_us) = await backend.client.time()
    stale_ms = now_s * 1000 + now_us // 1000 - 61_000
    await backend.client.zadd(k.op_order, {f"old{i}": stale_ms for i in range(150)})
    await backend.client.hset(k.ops, mapping={f"old{i}": "1" for i in range(150)})
    await state.update("busy", {"i": -1})
    assert await backend.client.zcard(k.op_order) == 301 + 150 - 100  # at most 100 dropped per write
    await state.update("busy", {"i": -2})
    assert await backend.client.zcard(k.op_order) == 302
    assert await backend.client.hlen(k.ops) == 302


def test_error_replies_map_to_typed_errors() -> None:
    err = from_script_error('ASR_CONFLICT {"kind":"state","id":"a","expected":1,"actual":2}')
    assert isinstance(err, VersionConflictError) and err.expected == 1 and err.actual == 2
    assert str(err) == "state 'a': expected version 1, stored version is 2"
    err = from_script_error('ASR_TRANSITION {"kind":"workflow","id":"w","op":"resume","status":"cancelled"}')
    assert isinstance(err, InvalidTransitionError) and "cancelled" in str(err)
    assert isinstance(from_script_error('ASR_LEASE {"reason":"stale fencing token 3"}'), LeaseError)
    assert isinstance(from_script_error('ASR_NOT_FOUND {"kind":"team","id":"t"}'), NotFoundError)
    assert type(from_script_error("ASR_WHATEVER x")) is AgentStateError
    assert from_script_error("ERR wrong number of arguments") is None


async def test_unknown_script_name_is_a_clear_error(backend: Backend) -> None:
    with pytest.raises(KeyError, match="no Lua script named 'state/nope'"):
        await backend.run("state/nope", [])

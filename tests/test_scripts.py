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
    assert save.keys[:3] == ["data hash", "ops hash (current generation)", "ops of the previous generation (hash)"] and len(save.keys) == 4
    for script in library.scripts.values():
        assert "loadstring" not in script.source and "load(" not in script.source


def test_params_set_library_constants_and_change_the_sha() -> None:
    default, short = ScriptLibrary(LUA), ScriptLibrary(LUA, {"op_window_ms": 5000})
    assert "local OP_TTL_MS = 60000 --@param op_window_ms" in default["state/save"].source
    assert "local OP_TTL_MS = 5000 --@param op_window_ms" in short["state/save"].source
    assert default["state/save"].sha != short["state/save"].sha
    assert ScriptLibrary.default(op_window_ms=5000) is ScriptLibrary.default(op_window_ms=5000)
    with pytest.raises(ValueError, match="no_such_param"):
        ScriptLibrary(LUA, {"no_such_param": 1})
    with pytest.raises(TypeError, match="op_window_ms"):
        ScriptLibrary(LUA, {"op_window_ms": "5000"})  # type: ignore[dict-item]  # the check under test


async def test_a_backend_runs_the_library_of_its_params(redis_url: str, prefix: str) -> None:
    backend = RedisBackend(redis_url, key_prefix=prefix)
    backend.script_params = {"op_window_ms": 5000}  # read when the backend connects
    async with backend:
        await StateManager(backend=backend).save("k", {"a": 1})
        assert 5000 < await backend.client.pttl(backend.keys.state("k").ops) <= 10000  # a generation lives two windows


async def test_noscript_after_script_flush_reloads(redis_backend: RedisBackend) -> None:
    state = StateManager(backend=redis_backend)
    await state.save("a", {"n": 1})
    await redis_backend.client.script_flush()
    assert await state.update("a", {"n": 2}) == 2
    assert await state.get("a") == {"n": 2}


async def test_replayed_op_id_applies_once(backend: Backend) -> None:
    k = backend.keys.state("replay")
    keys = [k.base, k.ops, k.ops_prev, k("tomb")]
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
    """A busy entity must not forget an op id within seconds (a late retry would apply twice). Ids live
    in two generations: one a window old becomes the previous generation, still read, and the one
    before it is dropped."""
    state = StateManager(backend=backend)
    keys, k = state._keys("busy"), backend.keys.state("busy")
    first = [new_op_id(), "", "busy", "", 0, ".i", "0"]
    assert await backend.run("state/save", keys, first) == "1"
    for i in range(300):
        await state.update("busy", {"i": i})
    assert await backend.client.hlen(k.ops) == 301
    assert 60_000 < await backend.client.pttl(k.ops) <= 120_000

    await backend.client.pexpire(k.ops, 59_000)  # the current generation is now a window old
    await state.update("busy", {"i": -1})
    assert await backend.client.hlen(k.ops_prev) == 301 and await backend.client.hlen(k.ops) == 1
    assert 60_000 < await backend.client.pttl(k.ops) <= 120_000
    assert await backend.run("state/save", keys, first) == "1"  # still remembered: nothing written
    assert await state.get_version("busy") == 302

    await backend.client.pexpire(k.ops, 59_000)
    await state.update("busy", {"i": -2})  # a window later, the generation holding `first` is dropped
    assert await backend.client.hlen(k.ops_prev) == 1
    assert await backend.run("state/save", keys, first) == "304"

    await backend.client.persist(k.ops)  # a generation that lost its TTL still expires once rotated
    await state.update("busy", {"i": -3})
    assert 0 < await backend.client.pttl(k.ops_prev) <= 60_000


async def test_op_id_generations_turn_over_sooner_past_the_cap(backend: Backend) -> None:
    """An entity written faster than the cap per window keeps bounded memory: the size is checked on
    ids starting with '0' (one in 16), and a full generation becomes the previous one at once."""
    state = StateManager(backend=backend)
    keys, k = state._keys("hot"), backend.keys.state("hot")
    await state.save("hot", {"i": 0})
    await backend.client.hset(k.ops, mapping={f"f{i:06d}": "1" for i in range(100_000)})
    await backend.run("state/update", keys, ["1" + new_op_id()[1:], "", "hot", "", 0, "0", ".i", "1"])
    assert not await backend.client.exists(k.ops_prev)  # not checked on this id
    zero = "0" + new_op_id()[1:]
    assert await backend.run("state/update", keys, [zero, "", "hot", "", 0, "0", ".i", "2"]) == "3"
    assert not await backend.client.exists(k.ops)
    assert await backend.client.hlen(k.ops_prev) == 100_003
    assert await backend.run("state/update", keys, [zero, "", "hot", "", 0, "0", ".i", "9"]) == "3"  # replayed
    assert await state.get("hot") == {"i": 2}


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

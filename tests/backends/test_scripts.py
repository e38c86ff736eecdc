"""The Lua runtime: script headers, EVALSHA/NOSCRIPT, op-id replay, typed error mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentstate_redis import NotFoundError, RedisBackend, StateManager, VersionConflictError
from agentstate_redis.backends.base import Backend, new_op_id
from agentstate_redis.errors import AgentStateError, InvalidTransitionError, LeaseError, from_script_error
from agentstate_redis.scripts import ALLOWED, GUARDED, READ, ScriptLibrary

LUA = Path(__file__).resolve().parents[2] / "lua"


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


def test_every_script_declares_its_memory_class() -> None:
    """A write script says 'Memory: guarded' (refused over maxmemory) or 'Memory: allowed; <why>' (runs
    there); a read script says nothing and is READ. A write without a class would silently write past
    maxmemory whenever its first command is not one the server guards."""
    for name, script in ScriptLibrary(LUA).scripts.items():
        lines = [line for line in script.source.split("\n\n", 1)[0].splitlines() if line.startswith("-- Memory:")]
        if not script.writes:
            assert script.memory == READ and not lines, f"{name}: a read script needs no Memory line"
            continue
        assert len(lines) == 1, f"{name}: a write script must declare '-- Memory: guarded' or 'allowed; <why>'"
        assert script.memory in (GUARDED, ALLOWED), f"{name}: unknown memory class in {lines[0]!r}"
        if script.memory == ALLOWED:
            assert lines[0].split(";", 1)[1].strip(), f"{name}: say why it must run over maxmemory"
        assert script.keys, f"{name}: the first-write guard needs a KEYS[1] to derive its key from"


def test_the_loader_emits_each_class_as_the_first_line_the_server_understands() -> None:
    """Redis 7+/Valkey: a '#!lua' line (flags=no-writes for reads, allow-oom for ALLOWED, none for GUARDED)
    as the very first line; Redis 6: a first write that decides (SETRANGE '' for GUARDED, DEL for ALLOWED);
    fakeredis: nothing. Each form has its own SHAs; params still apply in every form."""
    flags, command, none = (
        ScriptLibrary(LUA, {"op_window_ms": 5000}, oom_guard=g) for g in ("flags", "command", "none")
    )
    first = {
        name: lib["state/save"].source.splitlines()[0]
        for name, lib in (("flags", flags), ("command", command), ("none", none))
    }
    assert first == {
        "flags": "#!lua",
        "command": "redis.call('SETRANGE', KEYS[1] .. ':oom-guard', 0, '')",
        "none": "-- state/save: replace the whole value of a state key, bumping its version.",
    }
    assert flags["state/get"].source.startswith("#!lua flags=no-writes\n")
    assert flags["orchestration/heartbeat"].source.startswith("#!lua flags=allow-oom\n")
    assert command["orchestration/heartbeat"].source.startswith("redis.call('DEL', KEYS[1] .. ':oom-guard')\n")
    assert not command["state/get"].source.startswith("redis.call(")
    assert len({flags["state/save"].sha, command["state/save"].sha, none["state/save"].sha}) == 3
    for lib in (flags, command, none):
        assert "local OP_TTL_MS = 5000 --@param op_window_ms" in lib["state/save"].source
    assert ScriptLibrary.default(oom_guard="command") is ScriptLibrary.default(oom_guard="command")
    with pytest.raises(ValueError, match="oom_guard"):
        ScriptLibrary(LUA, oom_guard="shebang")


async def test_fencing_tokens_travel_exactly_in_errors_and_events(backend: Backend) -> None:
    """Tokens are server microseconds (16 digits); cjson writes 14 significant digits, so a token in an
    error's details or an event would come back rounded. core.lua's encode() writes them exactly."""
    from agentstate_redis import OrchestrationStateManager

    orch = OrchestrationStateManager(backend=backend)
    await orch.create_team("t")
    await orch.enqueue_task("t", {"id": "a"})
    task = await orch.claim_task("t", "w", lease=30)
    assert task is not None and task.token > 10**15
    await orch.release_task("t", "a", token=task.token)
    with pytest.raises(LeaseError) as stale:
        await orch.complete_task("t", "a", {}, token=task.token)
    assert stale.value.token == task.token and isinstance(stale.value.token, int)


def test_includes_expand_and_user_data_is_never_spliced() -> None:
    library = ScriptLibrary(LUA)
    save = library["state/save"]
    assert "local function now_ms()" in save.source
    assert not [line for line in save.source.splitlines() if line.startswith("--@include")]
    assert (
        save.keys[:3] == ["data hash", "ops hash (current generation)", "ops of the previous generation (hash)"]
        and len(save.keys) == 4
    )
    for script in library.scripts.values():
        assert "loadstring" not in script.source and "load(" not in script.source


def test_each_library_is_emitted_once_and_brings_what_it_needs(tmp_path: Path) -> None:
    library = ScriptLibrary(LUA)
    for name, script in library.scripts.items():  # agents scripts include core, lease, agents; agents includes both
        for function in ("local function now_ms()", "local function lease_acquire(", "local function op_replay("):
            assert script.source.count(function) <= 1, (name, function)
    assert library["agents/lease_acquire"].source.count("local function now_ms()") == 1
    # a library that includes what it needs: a script including only lib/agents.lua gets core and lease
    (tmp_path / "lib").mkdir()
    for lib in ("core", "lease", "agents"):
        (tmp_path / "lib" / f"{lib}.lua").write_text((LUA / "lib" / f"{lib}.lua").read_text())
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "only.lua").write_text(
        "-- agents/only: a test script.\n-- Mode: read\n\n"
        "--@include lib/agents.lua\n--@include lib/core.lua\n"
        "return now_ms()\n"
    )
    only = ScriptLibrary(tmp_path)["agents/only"].source
    assert only.count("local function now_ms()") == 1 and only.count("local function lease_check(") == 1
    assert only.index("local function now_ms()") < only.index("local function lease_acquire(") < only.index("local K =")
    (tmp_path / "lib" / "core.lua").write_text("--@include lib/agents.lua\n")
    with pytest.raises(ValueError, match="include cycle"):
        ScriptLibrary(tmp_path)


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
    keys, k = state._entity_keys("busy"), backend.keys.state("busy")
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


async def test_op_id_generations_turn_over_sooner_past_the_cap(redis_backend: RedisBackend) -> None:
    """An entity written faster than the cap per window keeps bounded memory: the size is checked on
    ids starting with '0' (one in 16), and a full generation becomes the previous one at once.

    On the real server only: the scripts are the same on every backend, and filling a generation of
    100,000 ids takes fakeredis (memory, file) about 25 s each."""
    backend = redis_backend
    state = StateManager(backend=backend)
    keys, k = state._entity_keys("hot"), backend.keys.state("hot")
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


def test_oom_replies_of_every_server_are_recognised() -> None:
    """Redis 7/Valkey refuse a flagged script up front, or the first guarded write; Redis 6 wraps the refusal in
    'Error running script'. A script's own error reply that happens to mention maxmemory is not one."""
    from agentstate_redis.errors import is_oom_reply

    assert is_oom_reply("command not allowed when used memory > 'maxmemory'.")
    assert is_oom_reply("OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'")
    assert is_oom_reply(
        "Error running script (call to f_d1): @user_script:1: @user_script: 1: -OOM command not "
        "allowed when used memory > 'maxmemory'."
    )
    assert not is_oom_reply('ASR_INVALID {"detail":"used memory > \'maxmemory\'"}')
    assert not is_oom_reply("ERR Error running script: attempt to compare nil with number")


async def test_unknown_script_name_is_a_clear_error(backend: Backend) -> None:
    with pytest.raises(KeyError, match="no Lua script named 'state/nope'"):
        await backend.run("state/nope", [])

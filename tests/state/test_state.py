"""Behaviour of the core StateManager, identical on the memory, file and redis backends."""

from __future__ import annotations

import asyncio

import pytest

from agentstate_redis import (
    InvalidInputError,
    NotFoundError,
    StateManager,
    VersionConflictError,
)
from agentstate_redis.backends.base import Backend

from ..cluster_cases import on_cluster
from ..waiting import eventually


@on_cluster
async def test_save_get_update_delete(state: StateManager) -> None:
    assert await state.get("agent:researcher") is None
    assert await state.save("agent:researcher", {"status": "running", "current_task": "analyze", "progress": 0.45}) == 1
    assert await state.update("agent:researcher", {"progress": 0.75}) == 2
    assert await state.get("agent:researcher") == {"status": "running", "current_task": "analyze", "progress": 0.75}
    assert await state.delete("agent:researcher") is True
    assert await state.get("agent:researcher") is None
    assert await state.delete("agent:researcher") is False


@on_cluster
async def test_save_replaces_and_update_merges_top_level_only(state: StateManager) -> None:
    await state.save("k", {"a": {"x": 1, "y": 2}, "b": 1})
    await state.update("k", {"a": {"x": 9}})
    assert await state.get("k") == {"a": {"x": 9}, "b": 1}
    await state.save("k", {"c": []})
    assert await state.get("k") == {"c": []}


@on_cluster
async def test_values_round_trip_exactly(state: StateManager) -> None:
    value = {
        "big": 2**63 - 1,
        "neg": -5,
        "float": 0.1,
        "empty_list": [],
        "empty_obj": {},
        "none": None,
        "unicode": "ünïcødé ✓ 🚀",
        "nested": [{"a": [1, {"b": None}]}],
        "bool": False,
    }
    await state.save("types", value)
    assert await state.get("types") == value


async def test_getters_return_copies(state: StateManager) -> None:
    await state.save("k", {"items": [1]})
    got = await state.get("k")
    got["items"].append(2)
    assert await state.get("k") == {"items": [1]}


@on_cluster
async def test_versions_and_conflicts(state: StateManager) -> None:
    assert await state.get_version("v") == 0
    assert await state.save("v", {"n": 1}, expected_version=0) == 1
    with pytest.raises(VersionConflictError) as err:
        await state.save("v", {"n": 2}, expected_version=0)
    assert err.value.expected == 0 and err.value.actual == 1
    assert "'v'" in str(err.value)
    assert await state.update("v", {"n": 2}, expected_version=1) == 2
    with pytest.raises(VersionConflictError):
        await state.update("v", {"n": 3}, expected_version=1)
    with pytest.raises(VersionConflictError):
        await state.delete("v", expected_version=5)
    entry = await state.get_entry("v")
    assert entry is not None and entry.version == 2 and entry.value == {"n": 2}


async def test_versions_never_repeat_after_a_delete(state: StateManager) -> None:
    """A client holding a version from before a delete must not overwrite the re-created key."""
    assert await state.save("k", {"a": 1}) == 1
    assert await state.delete("k")
    assert await state.save("k", {"b": 2}) == 3
    with pytest.raises(VersionConflictError):
        await state.save("k", {"stale": True}, expected_version=1)
    assert await state.get("k") == {"b": 2}
    await state.delete("k")
    assert await state.update("k", {"c": 3}, upsert=True) == 5
    await state.delete("k")
    assert await state.save("k", {}, expected_version=0) == 7  # "must not exist" still means exactly that


@on_cluster
async def test_update_of_missing_key(state: StateManager) -> None:
    with pytest.raises(NotFoundError, match="'ghost'"):
        await state.update("ghost", {"a": 1})
    assert await state.get("ghost") is None
    assert await state.update("ghost", {"a": 1}, upsert=True) == 1
    assert await state.get("ghost") == {"a": 1}


@on_cluster
async def test_list_keys_globs(state: StateManager) -> None:
    for key in ["agent:a", "agent:b", "agent:c:sub", "team:x", "weird*[key]{x}"]:
        await state.save(key, {})
    assert await state.list_keys("agent:*") == ["agent:a", "agent:b", "agent:c:sub"]
    assert await state.list_keys("agent:?") == ["agent:a", "agent:b"]
    assert await state.list_keys("team:*") == ["team:x"]
    assert "weird*[key]{x}" in await state.list_keys()
    assert await state.list_keys("weird\\*\\[key\\]{x}") == ["weird*[key]{x}"]


@on_cluster
async def test_ttl_expires_keys(state: StateManager) -> None:
    await state.save("short", {"a": 1}, ttl=0.2)
    entry = await state.get_entry("short")
    assert entry is not None and entry.ttl is not None and 0 < entry.ttl <= 0.2
    await state.save("long", {"a": 1})
    assert (await state.get_entry("long")).ttl is None  # type: ignore[union-attr]
    await asyncio.sleep(0.4)
    assert await state.get("short") is None
    await state.expire("long", 0.1)
    await asyncio.sleep(0.3)
    assert await state.get("long") is None
    with pytest.raises(NotFoundError):
        await state.expire("long", 5)


async def test_default_ttl_from_backend(backend: Backend) -> None:
    backend.default_ttl = 0.2
    state = StateManager(backend=backend)
    await state.save("k", {"a": 1})
    await asyncio.sleep(0.1)
    await state.update("k", {"b": 2})  # a write refreshes the default ttl
    await asyncio.sleep(0.15)
    assert await state.get("k") == {"a": 1, "b": 2}
    await asyncio.sleep(0.3)
    assert await state.get("k") is None


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("k", [1, 2], "must be a JSON object"),
        ("k", {"x": float("nan")}, "NaN"),
        ("k", {"x": float("inf")}, "inf"),
        ("k", {"x": {1: "a"}}, "key 1"),
        ("k", {"x": object()}, "object"),
        ("k", {"x": 2**64}, "serializable"),
        ("", {"x": 1}, "must not be empty"),
        (123, {"x": 1}, "must be a string"),
        ("k" * 2000, {"x": 1}, "maximum is 1024"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    state: StateManager, key: object, value: object, message: str
) -> None:
    await state.save("k", {"keep": True})
    with pytest.raises(InvalidInputError, match=message):
        await state.save(key, value)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        await state.update(key, value if isinstance(value, dict) else 7)  # type: ignore[arg-type]
    assert await state.get("k") == {"keep": True}
    assert await state.get_version("k") == 1


async def test_oversized_value_is_refused(backend: Backend) -> None:
    backend.max_value_bytes = 1000
    state = StateManager(backend=backend)
    with pytest.raises(InvalidInputError, match="maximum is 1000"):
        await state.save("big", {"blob": "x" * 2000})
    assert await state.get("big") is None


async def test_bad_ttl_and_version_arguments(state: StateManager) -> None:
    with pytest.raises(InvalidInputError, match="ttl"):
        await state.save("k", {}, ttl=-1)
    with pytest.raises(InvalidInputError, match="expected_version"):
        await state.save("k", {}, expected_version=-1)
    assert await state.get("k") is None


@on_cluster
async def test_subscribe_sees_old_and_new_values(state: StateManager) -> None:
    seen: list[tuple[str, object, object]] = []
    await state.subscribe("agent:*", lambda key, old, new: seen.append((key, old, new)))
    await state.save("agent:a", {"n": 1})
    await state.update("agent:a", {"m": 2})
    await state.save("other:x", {"ignored": True})
    await state.delete("agent:a")
    await eventually(lambda: len(seen) >= 3)
    assert seen == [
        ("agent:a", None, {"n": 1}),
        ("agent:a", {"n": 1}, {"n": 1, "m": 2}),
        ("agent:a", {"n": 1, "m": 2}, None),
    ]


async def test_async_callbacks_and_a_failing_one(state: StateManager) -> None:
    seen: list[str] = []

    def broken(key: str, old: object, new: object) -> None:
        raise RuntimeError("subscriber bug")

    async def good(key: str, old: object, new: object) -> None:
        await asyncio.sleep(0)
        seen.append(key)

    state.subscribe("*", broken)
    await state.subscribe("*", good)
    await state.save("a", {})
    await state.save("b", {})
    await eventually(lambda: len(seen) == 2)
    assert seen == ["a", "b"]
    state.unsubscribe("*", good)
    await state.save("c", {})
    await asyncio.sleep(0.2)
    assert seen == ["a", "b"]


@on_cluster
async def test_ttl_expiry_reaches_subscribers(state: StateManager) -> None:
    seen: list[tuple[str, object, object]] = []
    await state.subscribe("session:*", lambda key, old, new: seen.append((key, old, new)))
    await state.save("session:1", {"a": 1}, ttl=0.2)
    await asyncio.sleep(0.3)
    # Redis expires a key when it is read or when its active expiry cycle samples it; with many
    # keys that have a TTL (the whole suite's op ids) the cycle can take minutes to get to this
    # one, so the test reads the key, as any reader would: the server expires it and says so.
    assert await state.get("session:1") is None
    await eventually(lambda: len(seen) == 2, timeout=5)
    assert seen[1] == ("session:1", None, None)


async def test_events_can_be_switched_off(backend: Backend) -> None:
    backend.events_enabled = False
    state = StateManager(backend=backend)
    seen: list[str] = []
    await state.subscribe("*", lambda key, old, new: seen.append(key))
    await state.save("quiet", {})
    await asyncio.sleep(0.3)
    assert seen == []


async def test_values_with_thousands_of_fields(state: StateManager) -> None:
    wide = {f"f{i}": i for i in range(5001)}
    await state.save("wide", wide)
    await state.update("wide", {f"g{i}": i for i in range(2500)})
    assert await state.get("wide") == {**wide, **{f"g{i}": i for i in range(2500)}}

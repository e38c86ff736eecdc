"""Property-based tests of the core state on the real server: Redis and a plain Python model agree."""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from agentstate_redis import (
    InvalidInputError,
    NotFoundError,
    RedisBackend,
    StateManager,
    VersionConflictError,
)

from ..model_checks import check_against_model

KEYS = st.sampled_from(["agent:a", "agent:b", "team:{x}", "weird*[k]?", "ünï:ḱey", "a}b{c"])
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)
OBJECTS = st.dictionaries(st.text(max_size=10), JSON, max_size=5)


class StateMachine(RuleBasedStateMachine):
    url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.state = StateManager(backend=RedisBackend(self.url, key_prefix=f"p{uuid.uuid4().hex[:8]}:"))
        self.model: dict[str, tuple[dict[str, Any], int]] = {}
        self.tombstones: dict[str, int] = {}  # a deleted key's last version: re-creation continues from it

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.state.backend.close())
        self.loop.close()

    @rule(key=KEYS, value=OBJECTS, use_version=st.booleans(), off_by=st.sampled_from([0, 0, 1]))
    def save(self, key: str, value: dict[str, Any], use_version: bool, off_by: int) -> None:
        current = self.model.get(key, ({}, 0))[1]
        expected = current + off_by if use_version else None
        if expected is not None and expected != current:
            with pytest.raises(VersionConflictError):
                self.run(self.state.save(key, value, expected_version=expected))
            return
        version = (current or self.tombstones.get(key, 0)) + 1
        assert self.run(self.state.save(key, value, expected_version=expected)) == version
        self.model[key] = (dict(value), version)

    @rule(key=KEYS, changes=OBJECTS, upsert=st.booleans())
    def update(self, key: str, changes: dict[str, Any], upsert: bool) -> None:
        if key not in self.model and not upsert:
            with pytest.raises(NotFoundError):
                self.run(self.state.update(key, changes))
            return
        value, version = self.model.get(key, ({}, self.tombstones.get(key, 0)))
        assert self.run(self.state.update(key, changes, upsert=upsert)) == version + 1
        self.model[key] = ({**value, **changes}, version + 1)

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        assert self.run(self.state.delete(key)) is (key in self.model)
        if key in self.model:
            self.tombstones[key] = self.model.pop(key)[1] + 1

    @rule(key=KEYS, bad=st.sampled_from([float("nan"), math.inf, object(), {1: 2}]))
    def hostile_update_changes_nothing(self, key: str, bad: Any) -> None:
        with pytest.raises(InvalidInputError):
            self.run(self.state.update(key, {"x": bad}, upsert=True))

    @invariant()
    def redis_agrees_with_the_model(self) -> None:
        for key in ["agent:a", "agent:b", "team:{x}", "weird*[k]?", "ünï:ḱey", "a}b{c"]:
            entry = self.run(self.state.get_entry(key))
            if key in self.model:
                assert entry is not None and (entry.value, entry.version) == self.model[key]
            else:
                assert entry is None
        assert self.run(self.state.list_keys()) == sorted(self.model)


@pytest.mark.slow
def test_state_machine_against_model(redis_url: str) -> None:
    check_against_model(StateMachine, redis_url, max_examples=40, stateful_step_count=25)


IDS = st.one_of(
    st.text(min_size=1, max_size=40),
    st.sampled_from(["*", "?", "[a-z]", "{", "}", "{}", "a}{b", "\\", "\x00", " ", "🚀" * 100]),
    st.text(min_size=1025, max_size=1100),
    st.just(""),
    st.integers(),
    st.none(),
    st.binary(max_size=5),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=IDS, value=st.one_of(OBJECTS, JSON, st.builds(object), st.just({"x": float("nan")})))
def test_hostile_ids_and_values_get_typed_errors_and_change_nothing(redis_url: str, key: Any, value: Any) -> None:
    async def run() -> None:
        state = StateManager(backend=RedisBackend(redis_url, key_prefix=f"h{uuid.uuid4().hex[:8]}:"))
        await state.save("sentinel", {"keep": 1})
        try:
            version = await state.save(key, value)
        except InvalidInputError:
            version = None
        if version is not None:
            assert await state.get(key) == value
            assert key in await state.list_keys()
        assert await state.get("sentinel") == {"keep": 1}
        assert await state.get_version("sentinel") == 1
        keys = await state.list_keys()
        assert set(keys) <= {"sentinel", key}
        await state.backend.close()

    asyncio.run(run())

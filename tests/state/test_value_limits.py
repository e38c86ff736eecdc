"""max_value_bytes bounds a whole value, not each field (issue 17 §5).

The finding: the limit was per field, so one save() of 6 fields x 8 MiB (45 MiB) was accepted.
Now a state value's total (field names and encoded values, UTF-8 bytes) is checked: by Python
for a save, and by Lua for an update's merged value, which only the server knows.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from agentstate_redis import (
    AgentCheckpoint,
    AgentSnapshot,
    AgentStateStore,
    InvalidInputError,
    OrchestrationStateManager,
    StateManager,
    ToolExecution,
    ToolStateManager,
)
from agentstate_redis.backends.base import Backend

from ..conftest import make_backend

LIMIT = 10_000


@pytest.fixture(params=["memory", "redis"])
async def small(request: pytest.FixtureRequest, prefix: str, tmp_path: os.PathLike[str]) -> Any:
    """A backend whose values may hold at most LIMIT bytes."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    backend = make_backend(request.param, prefix, url, tmp_path, max_value_bytes=LIMIT)
    await backend.connect()
    yield backend
    await backend.close()


async def test_a_save_whose_fields_add_up_past_the_limit_is_refused(small: Backend) -> None:
    """Six fields, each well under the limit, together over it: refused naming key, size and limit,
    and nothing is written. Before, each field was checked alone and the save was accepted."""
    state = StateManager(backend=small)
    value = {f"f{i}": "x" * 2000 for i in range(6)}  # 6 x 2002 encoded + 6 x 2 name bytes = 12024
    with pytest.raises(InvalidInputError) as refused:
        await state.save("big", value)
    message = str(refused.value)
    assert "'big'" in message and "12024 bytes" in message and str(LIMIT) in message
    assert await state.get("big") is None
    with pytest.raises(InvalidInputError, match="10020 bytes"):
        await state.save("big", {f"f{i}": "x" * 2000 for i in range(5)})
    assert await state.save("big", {f"f{i}": "x" * 2000 for i in range(4)}) == 1  # 8016 bytes


async def test_the_limit_counts_bytes_not_characters(small: Backend) -> None:
    state = StateManager(backend=small)
    with pytest.raises(InvalidInputError, match="bytes"):
        await state.save("wide", {"v": "é" * 5000})  # 5000 characters, 10002 bytes encoded
    await state.save("narrow", {"v": "e" * 5000})
    assert (await state.get("narrow")) == {"v": "e" * 5000}


async def test_updates_that_grow_a_value_past_the_limit_are_refused_by_the_server(small: Backend) -> None:
    """Each update is small; their merged total is what is stored, so Lua checks it (with the size
    kept in the hash) and refuses the one that would pass the limit, writing nothing. Replacing a
    field counts its new size, not both."""
    state = StateManager(backend=small)
    await state.save("grow", {"a": "x" * 3000})
    assert await state.update("grow", {"b": "x" * 3000}) == 2
    assert await state.update("grow", {"a": "y" * 3000}) == 3  # replaces a: still about 6 kB
    with pytest.raises(InvalidInputError) as refused:
        await state.update("grow", {"c": "x" * 4000})
    message = str(refused.value)
    assert "'grow'" in message and str(LIMIT) in message and "bytes" in message
    entry = await state.get_entry("grow")
    assert entry is not None and entry.version == 3 and set(entry.value) == {"a", "b"}
    assert await state.update("grow", {"b": 1}) == 4  # shrinking makes room
    assert await state.update("grow", {"c": "x" * 4000}) == 5


async def test_a_value_stored_before_sizes_were_kept_is_measured_once(small: Backend) -> None:
    """A hash written without the size field (an older version of the library) is measured from its
    fields on the first update, so the limit holds for it too."""
    state = StateManager(backend=small)
    await state.save("old", {"a": "x" * 6000})
    await small.client.hdel(state.keys.state("old").base, "#n")
    with pytest.raises(InvalidInputError, match=str(LIMIT)):
        await state.update("old", {"b": "x" * 6000})
    assert await state.update("old", {"b": "x" * 1000}) == 2


async def test_the_other_managers_big_values_obey_the_same_limit(small: Backend) -> None:
    """Checkpoints, snapshots, task payloads and tool results are single encoded values; each over
    max_value_bytes is refused with InvalidInputError naming its size and the limit."""
    big = {"blob": "x" * (LIMIT + 1)}
    store = AgentStateStore(backend=small)
    orch = OrchestrationStateManager(backend=small)
    tools = ToolStateManager(backend=small)
    await orch.create_team("team")
    await tools.start_execution(ToolExecution(execution_id="e1", tool_name="calc"))
    attempts = {
        "checkpoint": store.save_checkpoint(AgentCheckpoint(agent_id="a1", checkpoint_id="c1", step=1, state=big)),
        "snapshot": store.save_snapshot(AgentSnapshot(agent_id="a1", memory_state=big)),
        "task payload": orch.enqueue_task("team", {"id": "t1", "data": big}),
        "tool result": tools.complete_execution(execution_id="e1", result=big, duration_ms=1),
    }
    for call in attempts.values():
        with pytest.raises(InvalidInputError, match=rf"is \d+ bytes encoded, the maximum is {LIMIT}"):
            await call

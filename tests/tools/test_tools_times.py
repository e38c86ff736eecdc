"""Every datetime the tool manager returns is aware UTC; a datetime it takes may be aware or naive (local time)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from agentstate_redis import InvalidInputError
from agentstate_redis.backends.base import Backend
from agentstate_redis.tools import RetryState, ToolCacheEntry, ToolExecution, ToolStateManager, ToolStats

from ..timezones import EAST_OF_UTC, EAST_OFFSET, local_zone

MODELS_WITH_TIMES = (ToolExecution, ToolCacheEntry, RetryState, ToolStats)


@pytest.fixture
def tools(backend: Backend) -> ToolStateManager:
    return ToolStateManager(backend=backend)


@pytest.fixture
def east_of_utc() -> Iterator[None]:
    """The process's local time zone is EAST_OF_UTC for the test."""
    with local_zone(EAST_OF_UTC):
        assert datetime.now().astimezone().utcoffset() == EAST_OFFSET
        yield


def assert_utc(*moments: datetime | None) -> None:
    for moment in moments:
        assert moment is not None, "a time the server set is missing"
        assert moment.tzinfo is timezone.utc, f"{moment!r} is not aware UTC"


async def server_now(backend: Backend) -> datetime:
    sec, usec = await backend.client.time()
    return datetime.fromtimestamp(int(sec) + int(usec) / 1e6, timezone.utc)


# -- one case per public method that returns a datetime: it runs the method and returns its times ----

Case = Callable[[ToolStateManager], Awaitable[list[datetime | None]]]


async def _started(tools: ToolStateManager, eid: str = "e1") -> ToolExecution:
    return await tools.start_execution(ToolExecution(execution_id=eid, tool_name="calc"))


async def start_execution(tools: ToolStateManager) -> list[datetime | None]:
    return [(await _started(tools)).started_at]


async def complete_execution(tools: ToolStateManager) -> list[datetime | None]:
    await _started(tools)
    done = await tools.complete_execution("e1", {"ok": True})
    return [done.started_at, done.completed_at]


async def fail_execution(tools: ToolStateManager) -> list[datetime | None]:
    await _started(tools)
    failed = await tools.fail_execution("e1", "timeout")
    return [failed.started_at, failed.completed_at]


async def get_execution(tools: ToolStateManager) -> list[datetime | None]:
    await _started(tools)
    await tools.complete_execution("e1", 1)
    got = await tools.get_execution("e1")
    return [got.started_at, got.completed_at]


async def get_execution_history(tools: ToolStateManager) -> list[datetime | None]:
    await _started(tools, "e1")
    await _started(tools, "e2")
    await tools.complete_execution("e2", 1)
    history = await tools.get_execution_history("calc")
    return [history[0].started_at, history[0].completed_at, history[1].started_at]


async def get_tool_stats(tools: ToolStateManager) -> list[datetime | None]:
    await _started(tools)
    return [(await tools.get_tool_stats("calc")).last_execution_at]


async def cache_result(tools: ToolStateManager) -> list[datetime | None]:
    stored = await tools.cache_result(ToolCacheEntry(tool_name="calc", parameters={"x": 1}, result=2))
    assert stored is not None
    return [stored.created_at]


async def get_cached_result(tools: ToolStateManager) -> list[datetime | None]:
    await tools.cache_result(ToolCacheEntry(tool_name="calc", parameters={"x": 1}, result=2))
    counted = await tools.get_cached_result("calc", {"x": 1})
    peeked = await tools.get_cached_result("calc", {"x": 1}, count=False)
    assert counted is not None and peeked is not None
    return [counted.created_at, peeked.created_at]


async def update_retry_state(tools: ToolStateManager) -> list[datetime | None]:
    return [(await tools.update_retry_state(RetryState(execution_id="e1", attempts=1), delay=60)).next_retry_at]


async def get_pending_retries(tools: ToolStateManager) -> list[datetime | None]:
    await tools.update_retry_state(RetryState(execution_id="e1", attempts=1), delay=0)
    await tools.update_retry_state(RetryState(execution_id="e2", attempts=1), delay=60)
    listed = await tools.get_pending_retries(claim=False)
    claimed = await tools.get_pending_retries(claim=True)
    assert [r.execution_id for r in listed] == ["e1", "e2"] and [r.execution_id for r in claimed] == ["e1"]
    return [r.next_retry_at for r in listed + claimed]


async def list_retries(tools: ToolStateManager) -> list[datetime | None]:
    await tools.update_retry_state(RetryState(execution_id="e1", attempts=1), delay=60)
    return [r.next_retry_at for r in await tools.list_retries()]


async def get_retry_state(tools: ToolStateManager) -> list[datetime | None]:
    await tools.update_retry_state(RetryState(execution_id="e1", attempts=1), delay=60)
    got = await tools.get_retry_state("e1")
    assert got is not None
    return [got.next_retry_at]


CASES: dict[str, Case] = {
    case.__name__: case
    for case in (
        start_execution,
        complete_execution,
        fail_execution,
        get_execution,
        get_execution_history,
        get_tool_stats,
        cache_result,
        get_cached_result,
        update_retry_state,
        get_pending_retries,
        list_retries,
        get_retry_state,
    )
}


@pytest.mark.parametrize("method", sorted(CASES))
async def test_the_method_returns_aware_utc_server_times(tools: ToolStateManager, method: str) -> None:
    before = await server_now(tools.backend)
    moments = await CASES[method](tools)
    assert moments
    assert_utc(*moments)
    for moment in moments:  # the server's clock, read as UTC (a local reading would be hours off on most hosts)
        assert moment is not None and before - timedelta(seconds=5) < moment < before + timedelta(seconds=65)


def test_every_public_method_returning_a_model_with_times_has_a_case() -> None:
    def returns_times(method: Any) -> bool:
        hint = str(inspect.signature(method).return_annotation)  # its text: the modules postpone annotations
        return any(model.__name__ in hint for model in MODELS_WITH_TIMES)

    public = {
        name
        for name, member in inspect.getmembers(ToolStateManager, inspect.iscoroutinefunction)
        if not name.startswith("_") and returns_times(member)
    }
    assert public and public == set(CASES)


# -- times the manager takes --------------------------------------------------------------------


async def test_a_naive_next_retry_at_is_local_time(tools: ToolStateManager, east_of_utc: None) -> None:
    """The seed's ``datetime.now() + timedelta(seconds=30)`` is 30 s from now, also on a host east of UTC."""
    naive = datetime.now() + timedelta(seconds=30)
    state = RetryState(execution_id="e1", attempts=1, next_retry_at=naive)
    assert_utc(state.next_retry_at)
    assert state.next_retry_at == (naive - EAST_OFFSET).replace(tzinfo=timezone.utc)
    before = await server_now(tools.backend)
    scheduled = await tools.update_retry_state(state)
    assert scheduled.next_retry_at is not None
    assert timedelta(seconds=25) < scheduled.next_retry_at - before < timedelta(seconds=35)
    assert scheduled.next_retry_at > datetime.now(timezone.utc)  # the seed's check, made aware: not due yet
    assert await tools.get_pending_retries(claim=True) == []


async def test_an_aware_time_in_any_zone_is_the_same_instant_in_utc(tools: ToolStateManager) -> None:
    pacific = timezone(timedelta(hours=-7))
    at = datetime.now(pacific) + timedelta(seconds=30)
    before = await server_now(tools.backend)
    scheduled = await tools.update_retry_state(RetryState(execution_id="e1", attempts=1, next_retry_at=at))
    assert scheduled.next_retry_at is not None
    assert timedelta(seconds=25) < scheduled.next_retry_at - before < timedelta(seconds=35)
    past = await tools.update_retry_state(
        RetryState(execution_id="e2", attempts=1, next_retry_at=datetime.now(pacific) - timedelta(hours=1))
    )
    assert [r.execution_id for r in await tools.get_pending_retries(claim=True)] == ["e2"]  # in the past: due now
    assert_utc(past.next_retry_at)


async def test_a_given_started_at_comes_back_as_the_same_instant_in_utc(
    tools: ToolStateManager, east_of_utc: None
) -> None:
    naive = datetime(2025, 3, 1, 12, 0, 0)
    started = await tools.start_execution(ToolExecution(execution_id="e1", tool_name="calc", started_at=naive))
    assert started.started_at == datetime(2025, 3, 1, 6, 30, tzinfo=timezone.utc)
    assert_utc(started.started_at)
    got = await tools.get_execution("e1")
    assert got.started_at == started.started_at
    assert_utc(got.started_at)
    aware = datetime(2025, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    other = await tools.start_execution(ToolExecution(execution_id="e2", tool_name="calc", started_at=aware))
    assert other.started_at == aware and other.started_at is not None and other.started_at.hour == 11
    assert_utc(other.started_at)


async def test_times_out_of_range_are_refused_before_anything_is_written(
    tools: ToolStateManager, east_of_utc: None
) -> None:
    with pytest.raises(InvalidInputError, match="out of the range"):  # year 1, 00:00 local is before year 1 in UTC
        RetryState(execution_id="e1", next_retry_at=datetime.min)
    far = RetryState(execution_id="e1", attempts=1, next_retry_at=datetime(9000, 1, 1, tzinfo=timezone.utc))
    with pytest.raises(InvalidInputError, match="next_retry_at"):
        await tools.update_retry_state(far)
    assert await tools.get_retry_state("e1") is None
    with pytest.raises(InvalidInputError, match="started_at"):
        ToolExecution(execution_id="e1", tool_name="calc", started_at="not a time")

"""Exactly-once across long pauses: a write is never resent once the server may have forgotten its op id.

The server remembers an op id for ``op_window_ms`` (60 s; shortened here through
``Backend.script_params``). A resend after that could apply a second time, so the runner
resends a write only while its first send is younger than half the window, and otherwise
raises ``OutcomeUnknownError``. A write that never left the process may be resent at any
time; one that may have applied never turns into ``BackendUnavailableError``.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import signal
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

import pytest

from agentstate_redis import (
    BackendUnavailableError,
    OutcomeUnknownError,
    RedisBackend,
    StateManager,
    VersionConflictError,
)
from agentstate_redis.scripts import ScriptLibrary, ScriptRunner, uses_op_id

from ..fault_proxy import FaultProxy
from ..waiting import eventually
from ..workers_faults import paused_writer
from .proxied import server_looks_down, state_through

WINDOW_MS = 3000


@pytest.fixture
async def direct(redis_url: str, prefix: str) -> AsyncIterator[StateManager]:
    """The state as the server has it, read around the proxy."""
    backend = await RedisBackend(redis_url, key_prefix=prefix).connect()
    yield StateManager(backend=backend)
    await backend.close()


def _through(
    proxy: FaultProxy, prefix: str, window_ms: int = WINDOW_MS, **options: object
) -> AbstractAsyncContextManager[StateManager]:
    """The state through ``proxy`` on a server that remembers op ids for ``window_ms``."""
    return state_through(proxy, prefix, script_params={"op_window_ms": window_ms}, **options)


async def test_a_write_in_flight_across_a_pause_longer_than_the_op_window_is_not_resent(
    proxy: FaultProxy, direct: StateManager, prefix: str
) -> None:
    """A writer is SIGSTOPped with an ``update`` and a conditional ``save`` applied on the server
    and their replies not yet read, until the server has forgotten both op ids; its connections
    are reset, then it is continued. Without the guarantee it resends both: the update applies
    twice (version 4) and the save reports a VersionConflictError its own first send caused.
    With it, both raise OutcomeUnknownError naming the operation and key, and each applied once."""
    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Event(), ctx.Event(), ctx.Queue()
    writer = ctx.Process(
        target=paused_writer, args=(proxy.url, direct.backend.keys.prefix, WINDOW_MS, ready, go, out), daemon=True
    )
    writer.start()
    assert writer.pid is not None
    stopped = False
    try:
        assert await asyncio.to_thread(ready.wait, 60), "the writer did not get ready"
        assert (await direct.get_version("a"), await direct.get_version("b")) == (2, 1)
        proxy.blackhole_replies()
        go.set()

        async def both_applied() -> bool:
            return (await direct.get_version("a"), await direct.get_version("b")) == (3, 2)

        await eventually(both_applied, timeout=30, what="both writes to reach the server")
        os.kill(writer.pid, signal.SIGSTOP)
        stopped = True
        ops = [direct.backend.keys.state(k) for k in ("a", "b")]

        async def op_ids_forgotten() -> bool:  # both generations of both entities expired
            return await direct.backend.client.exists(*(k.ops for k in ops), *(k.ops_prev for k in ops)) == 0

        await eventually(
            op_ids_forgotten, timeout=6 * WINDOW_MS / 1000, what="the server to forget the op ids", interval=0.1
        )
        proxy.heal()
        proxy.reset_all()  # the replies are lost for good: the writer finds its connections dead
        os.kill(writer.pid, signal.SIGCONT)
        stopped = False
        update, save = await asyncio.to_thread(out.get, True, 60)
    finally:
        if stopped:
            os.kill(writer.pid, signal.SIGCONT)
        writer.join(10)
        if writer.is_alive():
            writer.kill()
    assert update.get("error") == "OutcomeUnknownError", update
    assert save.get("error") == "OutcomeUnknownError", save
    assert (update["operation"], save["operation"]) == ("state/update", "state/save")
    assert update["key"].endswith("{state:a}") and save["key"].endswith("{state:b}")
    assert (await direct.get_version("a"), await direct.get_version("b")) == (3, 2)
    assert (await direct.get("a"), await direct.get("b")) == ({"n": 1}, {"n": 1})


async def test_replies_lost_for_longer_than_half_the_window_end_in_outcome_unknown(
    proxy: FaultProxy, direct: StateManager, prefix: str
) -> None:
    """With no pause at all: concurrent writes (the lone one and a pipelined batch) whose replies
    never come time out after the liveness timeout, already past half of a 1 s window, so they are
    not resent. Without the guarantee they are resent for retry_seconds and end in
    BackendUnavailableError although every one of them applied."""
    async with _through(proxy, prefix, window_ms=1000, liveness_timeout=1.0, retry_seconds=6) as state:
        await asyncio.gather(*(state.save(f"k{i}", {"n": 0}) for i in range(5)))
        await state.update("warm", {"n": 0}, upsert=True)  # loads the script while replies flow
        proxy.blackhole_replies()
        results = await asyncio.gather(*(state.update(f"k{i}", {"n": 1}) for i in range(5)), return_exceptions=True)
        assert all(isinstance(r, OutcomeUnknownError) for r in results), results
        assert [r.operation for r in results] == ["state/update"] * 5  # type: ignore[union-attr]
        assert [await direct.get_version(f"k{i}") for i in range(5)] == [2] * 5


async def test_a_write_that_never_left_is_resent_after_the_window(
    proxy: FaultProxy, direct: StateManager, prefix: str
) -> None:
    """Connections refused (nothing of the write leaves the process) for longer than half the
    op window: the write keeps being retried and applies once when the server is back, instead
    of giving up with an unknown outcome it does not have."""
    async with _through(proxy, prefix, window_ms=1000, liveness_timeout=2.0, retry_seconds=15) as state:
        await state.save("k", {"n": 0})
        await server_looks_down(proxy)
        call = asyncio.ensure_future(state.update("k", {"n": 1}))
        await asyncio.sleep(2.0)  # four times the resend limit
        assert not call.done(), call
        proxy.heal()
        assert await asyncio.wait_for(call, 30) == 2
        assert await direct.get_version("k") == 2


async def test_when_retries_run_out_a_write_that_may_have_applied_is_outcome_unknown(
    proxy: FaultProxy, direct: StateManager, prefix: str
) -> None:
    """A write sent into a black hole may have applied: after the retries it raises
    OutcomeUnknownError, not BackendUnavailableError (which says nothing applied). A write
    that could never be sent (connections refused) and a read raise BackendUnavailableError."""
    async with _through(proxy, prefix, window_ms=60_000, liveness_timeout=1.0, retry_seconds=1.5) as state:
        await state.save("k", {"n": 0})
        await state.update("warm", {"n": 0}, upsert=True)  # loads the script while replies flow
        proxy.blackhole_replies()
        with pytest.raises(OutcomeUnknownError) as unknown:
            await state.update("k", {"n": 1})
        assert unknown.value.operation == "state/update" and "stopped answering" in str(unknown.value)
        assert await direct.get_version("k") == 2  # it did apply, once
        proxy.heal()
        await server_looks_down(proxy)
        with pytest.raises(BackendUnavailableError):
            await state.update("k", {"n": 2})
        with pytest.raises(BackendUnavailableError):
            await state.get("k")
        assert await direct.get_version("k") == 2


async def test_without_retries_a_lost_ack_is_typed_and_applied_once(
    proxy: FaultProxy, direct: StateManager, prefix: str
) -> None:
    """``retry_seconds=0``: a lost ack raises OutcomeUnknownError (before, redis-py's own
    ConnectionError reached the caller), a refused connection BackendUnavailableError."""
    async with _through(proxy, prefix, retry_seconds=0) as state:
        await state.save("k", {"n": 0})
        proxy.lose_acks(1)
        with pytest.raises(OutcomeUnknownError):
            await state.update("k", {"n": 1})
        assert await direct.get_version("k") == 2
        await server_looks_down(proxy)
        with pytest.raises(BackendUnavailableError):
            await state.save("k", {"n": 5}, expected_version=2)
        proxy.heal()
        assert await state.save("k", {"n": 5}, expected_version=2) == 3


async def test_a_conditional_write_retried_within_the_window_reports_its_own_success(
    proxy: FaultProxy, direct: StateManager, prefix: str
) -> None:
    """A lost ack on ``save(expected_version=1)``: the resend replays the op id and returns the
    first reply (version 2), never a VersionConflictError caused by its own first send."""
    async with _through(proxy, prefix, window_ms=60_000) as state:
        await state.save("k", {"n": 0})
        proxy.lose_acks(1)
        try:
            assert await state.save("k", {"n": 1}, expected_version=1) == 2
        except VersionConflictError as exc:  # pragma: no cover - the failure this test exists for
            raise AssertionError(f"a conflict caused by its own write: {exc}") from exc
        assert proxy.stats.acks_lost == 1
        assert await direct.get_version("k") == 2


def test_the_runner_assumes_the_window_the_scripts_run_with() -> None:
    """The client's resend limit comes from the same ``op_window_ms`` the Lua source is built
    with, so a backend with a shortened window also stops resending sooner."""
    library = ScriptLibrary.default(op_window_ms=WINDOW_MS)
    assert f"OP_TTL_MS = {WINDOW_MS} --@param op_window_ms" in library["state/update"].source
    runner = ScriptRunner(client=None, library=library)
    assert runner.op_window == WINDOW_MS / 1000 and 0 < runner.resend_limit < runner.op_window
    assert ScriptRunner(client=None).op_window == 60.0
    assert RedisBackend("redis://127.0.0.1:1/0", socket_timeout=3).liveness_timeout == 3


def test_every_write_that_relies_on_op_ids_says_so_in_its_header() -> None:
    """The runner stops resending only writes whose ARGV[1] is an op id; a write whose retry
    safety rests on op-id replay but whose header does not say so would escape that check."""
    for script in ScriptLibrary.default().scripts.values():
        retry_line = next(line for line in script.source.splitlines() if line.startswith("-- Retry:"))
        if script.writes and "op id" in retry_line:
            assert uses_op_id(script), script.name

"""Worker processes for the restart and failover tests (each builds its own backend).

A fleet worker runs the task queue and the core state side by side and records, in
its own memory, every write the server acknowledged. The parent restarts or fails
over Redis under it, then compares what the workers were told with what is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

from agentstate_redis import (
    InvalidTransitionError,
    LeaseError,
    OrchestrationStateManager,
    RedisBackend,
    StateManager,
    VersionConflictError,
)

from .queue_left import nothing_left

RETRY_SECONDS = 75.0  # the server is down for ~1-5 s, but on a loaded machine a failover election can take
# several rounds: longer than RedisClusterFixture.wait_for_failover (60 s), so a slow failover fails there, by name


def fleet_worker(url: str, prefix: str, team: str, agent_id: str, counter_key: str, done_key: str) -> dict[str, Any]:
    """Claim, heartbeat, work, bump a shared counter (CAS), save an own key, complete; until told to stop.

    Stops when ``done_key`` exists in the core state and the queue is empty. Returns the
    acknowledged completions, counter increments and own-key saves, and every pause over
    0.25 s between two acknowledged calls as ``(last ok, next ok)`` wall-clock times (the
    outages as this worker saw them).
    """
    return asyncio.run(_fleet(url, prefix, team, agent_id, counter_key, done_key))


async def _fleet(url: str, prefix: str, team: str, agent_id: str, counter_key: str, done_key: str) -> dict[str, Any]:
    rng = random.Random(agent_id)
    backend = RedisBackend(url, key_prefix=prefix, retry_seconds=RETRY_SECONDS)
    orch = OrchestrationStateManager(
        backend=backend, lease=5.0, sync_interval=0.5, max_stalls=50, completed_retention=10_000
    )
    state = StateManager(backend=backend)
    out: dict[str, Any] = {
        "accepted": [],
        "refused": [],
        "increments": 0,
        "conflicts": 0,
        "seq": 0,
        "own_key": f"own:{agent_id}",
        "gaps": [],
        "calls": 0,
    }
    last_ok = time.time()

    def acked() -> None:
        nonlocal last_ok
        now = time.time()
        out["calls"] += 1
        if now - last_ok > 0.25:
            out["gaps"].append((last_ok, now))
        last_ok = now

    async with backend:
        while True:
            task = await orch.claim_task(team, agent_id, wait=0.3)
            acked()
            if task is None:
                done = await state.get_entry(done_key)
                acked()
                if done is not None:
                    drained = await nothing_left(orch, team)
                    acked()
                    if drained:
                        return out
                continue
            async with orch.keep_alive(team, agent_id):
                acked()
                await asyncio.sleep(rng.uniform(0.001, 0.004))  # the "work"
                while True:  # shared counter, compare-and-set
                    entry = await state.get_entry(counter_key)
                    acked()
                    assert entry is not None
                    try:
                        await state.update(counter_key, {"n": entry.value["n"] + 1}, expected_version=entry.version)
                    except VersionConflictError:
                        out["conflicts"] += 1
                        continue
                    finally:
                        acked()
                    out["increments"] += 1
                    break
                await state.save(out["own_key"], {"seq": out["seq"] + 1, "task": task.id})
                acked()
                out["seq"] += 1
            try:
                await orch.complete_task(team, task.id, {"by": agent_id}, token=task.token)
            except (LeaseError, InvalidTransitionError) as exc:
                acked()
                out["refused"].append((task.id, task.token, type(exc).__name__))
                continue
            acked()
            out["accepted"].append((task.id, task.token))


def acked_writer(url: str, prefix: str, writer: str, seconds: float) -> dict[str, Any]:
    """Save a new key per call (``<writer>:<n>``) until the server dies or ``seconds`` pass.

    No retries: the first failure ends the run, so the writes acknowledged are exactly
    those whose call returned. Returns their count and the wall-clock span they covered.
    """
    return asyncio.run(_writer(url, prefix, writer, seconds))


async def _writer(url: str, prefix: str, writer: str, seconds: float) -> dict[str, Any]:
    backend = RedisBackend(url, key_prefix=prefix, retry_seconds=0, socket_timeout=5.0)
    state = StateManager(backend=backend)
    acked = 0
    error = ""
    await backend.connect()
    started = time.time()
    last = started
    try:
        while time.time() - started < seconds:
            await state.save(f"{writer}:{acked}", {"n": acked, "pad": "x" * 64})
            acked += 1
            last = time.time()
    except Exception as exc:  # noqa: BLE001 - the server was killed: stop at the first failure
        error = type(exc).__name__
    finally:
        with contextlib.suppress(Exception):
            await backend.close()
    return {"writer": writer, "acked": acked, "first": started, "last": last, "error": error}

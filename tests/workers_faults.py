"""Worker processes for the fault tests: they talk to Redis only through a FaultProxy's url.

``paused_writer`` has a write in flight while the parent stops it (SIGSTOP) for longer
than the op-id window. The fleet workers (``queue_worker``, ``cas_writer``,
``field_updater``, ``subscriber``) run until the parent sets ``stop`` (each puts ``(name, pid)``
on ``ready`` once connected) and report what the server acknowledged, what they reconciled
after an unknown outcome, and every exception they saw, by type.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from agentstate_redis import (
    AgentStateError,
    InvalidTransitionError,
    LeaseError,
    OrchestrationStateManager,
    OutcomeUnknownError,
    RedisBackend,
    StateManager,
    VersionConflictError,
)


def _describe(result: Any) -> dict[str, Any]:
    if isinstance(result, BaseException):
        return {
            "error": type(result).__name__,
            "message": str(result),
            "operation": getattr(result, "operation", None),
            "key": getattr(result, "key", None),
        }
    return {"ok": result}


def paused_writer(url: str, prefix: str, window_ms: int, ready: Any, go: Any, out: Any) -> None:
    """Set up keys ``a`` (version 2) and ``b`` (version 1), signal ``ready``, wait for ``go``,
    then send ``update("a")`` (alone, on the autopipeline's held connection) and
    ``save("b", expected_version=1)`` (queued behind it: a pipelined batch) together, and
    put both outcomes on ``out``."""
    asyncio.run(_paused_writer(url, prefix, window_ms, ready, go, out))


async def _paused_writer(url: str, prefix: str, window_ms: int, ready: Any, go: Any, out: Any) -> None:
    backend = RedisBackend(url, key_prefix=prefix)
    backend.script_params = {"op_window_ms": window_ms}
    state = StateManager(backend=backend)
    async with backend:
        # loads both scripts and opens both connections while replies still flow
        await asyncio.gather(state.save("a", {"n": 0}), state.save("b", {"n": 0}))
        await state.update("a", {"n": 0})
        ready.set()
        await asyncio.to_thread(go.wait)
        results = await asyncio.gather(
            state.update("a", {"n": 1}), state.save("b", {"n": 1}, expected_version=1), return_exceptions=True
        )
        out.put([_describe(r) for r in results])


# -- the fleet -------------------------------------------------------------------------------------

FLEET_LIVENESS = 2.0  # seconds: a silent connection is dropped this fast
FLEET_RETRY = 4.0  # seconds of resending: short black holes are ridden through, long ones are not
FLEET_WINDOW_MS = 4_000  # the op-id window (resends stop at half of it), short so a pause outlasts it


def fleet_backend(url: str, prefix: str) -> RedisBackend:
    backend = RedisBackend(url, key_prefix=prefix, liveness_timeout=FLEET_LIVENESS, retry_seconds=FLEET_RETRY)
    backend.script_params = {"op_window_ms": FLEET_WINDOW_MS}
    return backend


class _Seen:
    """Every exception a caller saw, by type name, and whether each is one of ours."""

    def __init__(self) -> None:
        self.errors: dict[str, int] = {}
        self.foreign: list[str] = []

    def note(self, exc: BaseException) -> None:
        name = type(exc).__name__
        self.errors[name] = self.errors.get(name, 0) + 1
        if not isinstance(exc, AgentStateError):
            self.foreign.append(f"{name}: {exc}")


def queue_worker(url: str, prefix: str, team: str, agent_id: str, stop: Any, ready: Any) -> dict[str, Any]:
    """``complete_and_claim`` in a loop until ``stop``; returns accepted completions ``(task, token)``."""
    return asyncio.run(_queue_worker(url, prefix, team, agent_id, stop, ready))


async def _queue_worker(url: str, prefix: str, team: str, agent_id: str, stop: Any, ready: Any) -> dict[str, Any]:
    backend = fleet_backend(url, prefix)
    orch = OrchestrationStateManager(backend=backend, lease=3.0, max_stalls=1000, completed_retention=100_000)
    seen = _Seen()
    out: dict[str, Any] = {"accepted": [], "refused": 0, "unknown": 0}
    task = None
    async with backend:
        await orch.get_queue_status(team, page_size=0)
        ready.put((agent_id, os.getpid()))
        while not stop.is_set():
            try:
                if task is None:
                    task = await orch.claim_task(team, agent_id, wait=0.5)
                    continue
                current, task = task, None
                task = await orch.complete_and_claim(
                    team, current.id, {"by": agent_id}, agent_id=agent_id, token=current.token
                )
                out["accepted"].append((current.id, current.token))
            except (LeaseError, InvalidTransitionError) as exc:
                seen.note(exc)  # the lease ran out while the call rode through a fault: another worker has it
                out["refused"] += 1
            except OutcomeUnknownError as exc:
                seen.note(exc)  # completed or not, and a next task leased or not: the leases sort it out
                out["unknown"] += 1
            except Exception as exc:  # noqa: BLE001 - counted, and the test asserts each is typed
                seen.note(exc)
                await asyncio.sleep(0.1)
    out.update(errors=seen.errors, foreign=seen.foreign)
    return out


def cas_writer(url: str, prefix: str, key: str, writer: str, stop: Any, ready: Any) -> dict[str, Any]:
    """get + save(expected_version) increments of ``n`` and of the writer's own field, until ``stop``.

    An increment whose outcome is unknown is reconciled from the writer's own field (only this
    writer changes it): applied or not, it is known before the next one, so the count is exact.
    """
    return asyncio.run(_cas_writer(url, prefix, key, writer, stop, ready))


async def _cas_writer(url: str, prefix: str, key: str, writer: str, stop: Any, ready: Any) -> dict[str, Any]:
    backend = fleet_backend(url, prefix)
    state = StateManager(backend=backend)
    seen = _Seen()
    out: dict[str, Any] = {"writer": writer, "applied": 0, "acked": 0, "reconciled": 0, "conflicts": 0}
    async with backend:
        await state.get(key)
        ready.put((writer, os.getpid()))
        while not stop.is_set():
            try:
                entry = await state.get_entry(key)
                assert entry is not None
                mine = entry.value.get(writer, 0)
                if mine != out["applied"]:
                    raise AssertionError(f"{writer}: stored {mine}, applied {out['applied']}")
                new = dict(entry.value, n=entry.value["n"] + 1, **{writer: mine + 1})
                await state.save(key, new, expected_version=entry.version)
                out["applied"] += 1
                out["acked"] += 1
            except VersionConflictError as exc:
                seen.note(exc)
                out["conflicts"] += 1
            except OutcomeUnknownError as exc:
                seen.note(exc)
                out["applied"] += await _reconcile(state, key, writer, out["applied"], seen)
                out["reconciled"] += 1
            except AssertionError:
                raise
            except Exception as exc:  # noqa: BLE001 - counted; BackendUnavailableError: not applied
                seen.note(exc)
                await asyncio.sleep(0.1)
    out.update(errors=seen.errors, foreign=seen.foreign)
    return out


async def _reconcile(state: StateManager, key: str, field: str, before: int, seen: _Seen) -> int:
    """1 if the unknown write of ``field`` = before + 1 applied, 0 if not (re-read until the server answers)."""
    while True:
        try:
            value = await state.get(key)
            return int(value.get(field, 0)) - before
        except Exception as exc:  # noqa: BLE001 - the fault is still on: ask again
            seen.note(exc)
            await asyncio.sleep(0.2)


def field_updater(url: str, prefix: str, key: str, field: str, stop: Any, ready: Any) -> dict[str, Any]:
    """``update(key, {field: i})`` for i = 1, 2, ... until ``stop``; returns how many applied."""
    return asyncio.run(_field_updater(url, prefix, key, field, stop, ready))


async def _field_updater(url: str, prefix: str, key: str, field: str, stop: Any, ready: Any) -> dict[str, Any]:
    backend = fleet_backend(url, prefix)
    state = StateManager(backend=backend)
    seen = _Seen()
    out: dict[str, Any] = {"field": field, "applied": 0, "acked": 0, "reconciled": 0}
    async with backend:
        await state.get(key)
        ready.put((field, os.getpid()))
        while not stop.is_set():
            try:
                await state.update(key, {field: out["applied"] + 1})
                out["applied"] += 1
                out["acked"] += 1
            except OutcomeUnknownError as exc:
                seen.note(exc)
                out["applied"] += await _reconcile(state, key, field, out["applied"], seen)
                out["reconciled"] += 1
            except Exception as exc:  # noqa: BLE001 - counted; BackendUnavailableError: not applied
                seen.note(exc)
                await asyncio.sleep(0.1)
    out.update(errors=seen.errors, foreign=seen.foreign)
    return out


def subscriber(url: str, prefix: str, pattern: str, stop: Any, ready: Any, final: Any) -> dict[str, Any]:
    """Count change events of state keys matching ``pattern`` and reconnects until ``stop``;
    set ``final`` on an event whose new value has ``final: true`` (written once the faults are over)."""
    return asyncio.run(_subscriber(url, prefix, pattern, stop, ready, final))


async def _subscriber(url: str, prefix: str, pattern: str, stop: Any, ready: Any, final: Any) -> dict[str, Any]:
    backend = fleet_backend(url, prefix)
    state = StateManager(backend=backend)
    out: dict[str, Any] = {"events": 0, "reconnects": 0, "final_after_reconnects": None, "gaps": {}}

    def on_change(key: str, old: Any, new: Any) -> None:
        out["events"] += 1
        if new and new.get("final") is True and out["final_after_reconnects"] is None:
            out["final_after_reconnects"] = out["reconnects"]
            final.set()

    def on_reconnect() -> None:
        out["reconnects"] += 1

    def on_gap(gap: Any) -> None:
        out["gaps"][gap.reason] = out["gaps"].get(gap.reason, 0) + 1

    async with backend:
        backend.events.on_reconnect(on_reconnect)
        await state.subscribe(pattern, on_change, on_gap=on_gap)
        ready.put(("subscriber", os.getpid()))
        while not stop.is_set():
            await asyncio.sleep(0.1)
    return out


def fleet_member(role: str, *args: Any) -> dict[str, Any]:
    """One process of the fault fleet: ``role`` names the function above that it runs."""
    members = {"queue": queue_worker, "cas": cas_writer, "fields": field_updater, "subscriber": subscriber}
    return {"role": role, **members[role](*args)}

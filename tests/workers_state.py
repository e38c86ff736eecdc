"""Worker functions run in separate processes by the core state tests."""

from __future__ import annotations

import asyncio
from typing import Any

from agentstate_redis import RedisBackend, StateManager, VersionConflictError


def _manager(url: str, prefix: str) -> StateManager:
    return StateManager(backend=RedisBackend(url, key_prefix=prefix))


def update_own_field(url: str, prefix: str, key: str, field: str, times: int) -> int:
    async def run() -> int:
        state = _manager(url, prefix)
        for i in range(1, times + 1):
            await state.update(key, {field: i}, upsert=True)
        await state.backend.close()
        return times

    return asyncio.run(run())


def increment_with_versions(url: str, prefix: str, key: str, times: int) -> int:
    """get + save(expected_version) with a retry on conflict; returns how many conflicts it saw."""

    async def run() -> int:
        state = _manager(url, prefix)
        conflicts = 0
        for _ in range(times):
            while True:
                entry = await state.get_entry(key)
                count, version = (entry.value["count"], entry.version) if entry else (0, 0)
                try:
                    await state.save(key, {"count": count + 1}, expected_version=version)
                    break
                except VersionConflictError:
                    conflicts += 1
        await state.backend.close()
        return conflicts

    return asyncio.run(run())


def collect_events(url: str, prefix: str, pattern: str, ready: Any, out: Any, stop_key: str) -> None:
    """Subscribe, signal ready, and send every (key, old, new) to ``out`` until ``stop_key`` is saved."""

    async def run() -> None:
        state = _manager(url, prefix)
        done = asyncio.Event()

        def on_change(key: str, old: Any, new: Any) -> None:
            out.put((key, old, new))
            if key == stop_key:
                done.set()

        await state.subscribe(pattern, on_change)
        ready.set()
        await asyncio.wait_for(done.wait(), timeout=60)
        await state.backend.close()

    asyncio.run(run())

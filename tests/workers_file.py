"""Worker functions for the file backend tests (separate processes)."""

from __future__ import annotations

import asyncio
from typing import Any

from agentstate_redis import BackendLockedError, FileBackend, StateManager


def write_forever(path: str, fmt: str, compression: bool, ready: Any) -> None:
    """Save after every write (save_interval=0) until killed."""

    async def run() -> None:
        state = StateManager(backend=FileBackend(file_path=path, format=fmt, compression=compression, save_interval=0))
        i = 0
        while True:
            await state.save(f"k{i % 50}", {"i": i, "pad": "x" * 500})
            i += 1
            if i == 20:
                ready.set()

    asyncio.run(run())


def try_open(path: str) -> str:
    async def run() -> str:
        backend = FileBackend(file_path=path)
        try:
            await backend.connect()
        except BackendLockedError as exc:
            return f"locked: {exc}"
        await backend.close()
        return "opened"

    return asyncio.run(run())

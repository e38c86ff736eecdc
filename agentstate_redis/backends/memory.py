"""In-process backend: fakeredis with Lua, running the very same scripts.

    >>> state = StateManager(backend=MemoryBackend())
    >>> await state.save("agent:a", {"status": "idle"})

Nothing leaves the process, so subscriptions see this process's changes only.
fakeredis expires keys lazily and sends no expiry notifications; while someone
listens for them, a sweeper finds expired keys and publishes the same
``__keyevent@0__:expired`` message a real server would.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import fakeredis
from fakeredis import aioredis

from ..background import stop_task
from ..keys import escape_glob
from .base import Backend

SWEEP_SECONDS = 0.1


class MemoryBackend(Backend):
    name = "memory"

    def __init__(self, *, server: fakeredis.FakeServer | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.server = server or fakeredis.FakeServer()
        self._sweeper: asyncio.Task[None] | None = None

    async def _open(self) -> Any:
        return aioredis.FakeRedis(server=self.server, decode_responses=True)

    def sync_client(self) -> fakeredis.FakeRedis:
        """A blocking client on the same keyspace (reads that must not interleave with coroutines)."""
        return fakeredis.FakeRedis(server=self.server, decode_responses=True)

    async def enable_keyspace_events(self) -> bool:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_expired())
        return True

    async def close(self) -> None:
        await stop_task(self._sweeper)
        self._sweeper = None
        await super().close()

    async def _sweep_expired(self) -> None:
        client = self.sync_client()
        deadlines: dict[str, float] = {}
        while True:
            now = time.monotonic()
            for key in list(deadlines):
                if deadlines[key] <= now and not client.exists(key):
                    del deadlines[key]
                    client.publish(f"__keyevent@{self.db}__:expired", key)
            for key in client.scan_iter(match=escape_glob(self.keys.prefix) + "*", count=1000):
                pttl = client.pttl(key)
                if pttl > 0:
                    deadlines[key] = now + pttl / 1000
            await asyncio.sleep(SWEEP_SECONDS)

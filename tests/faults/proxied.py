"""A StateManager whose backend talks to the session server through the fault proxy, and a server that looks down.

async with state_through(proxy, prefix, retry_seconds=0) as state:
    proxy.blackhole()
    ...
    await server_looks_down(proxy)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from agentstate_redis import RedisBackend, StateManager

from ..fault_proxy import FaultProxy


@asynccontextmanager
async def state_through(
    proxy: FaultProxy, prefix: str, *, script_params: dict[str, int] | None = None, **options: Any
) -> AsyncIterator[StateManager]:
    """A connected manager on ``RedisBackend(proxy.url, **options)`` (and these Lua ``script_params``);
    when the block ends the proxy is healed and the backend closed."""
    backend = RedisBackend(proxy.url, key_prefix=prefix, **options)
    backend.script_params.update(script_params or {})
    await backend.connect()
    try:
        yield StateManager(backend=backend)
    finally:
        proxy.heal()
        await backend.close()


async def server_looks_down(proxy: FaultProxy) -> None:
    """New connections refused, the open ones reset, and the client's event loop has seen the resets."""
    proxy.refuse()
    proxy.reset_all()
    await asyncio.sleep(0.2)

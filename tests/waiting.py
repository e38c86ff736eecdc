"""Waiting for something another task or process does, without timing assertions."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any


async def eventually(
    check: Any,
    timeout: float = 10.0,
    what: str = "condition",
    *,
    fleet: asyncio.Future[Any] | None = None,
    interval: float = 0.02,
) -> Any:
    """Poll ``check()`` (sync or async) until it returns something truthy, and return that.

    With ``fleet`` (a future running worker processes), a fleet that stops first raises its
    error at once instead of waiting out the timeout.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if fleet is not None and fleet.done():
            await fleet
            raise AssertionError(f"the fleet stopped before {what}")
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")

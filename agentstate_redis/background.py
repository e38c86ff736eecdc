"""Background tasks the library starts for itself (expiry sweeps, directory sweeps) and stops on close.

>>> await stop_task(self._sweeper)      # cancel it and wait until it has ended; None: nothing to stop
>>> self._sweeper = None
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait for it to end, whatever it ends with (its error is of no use at close)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task

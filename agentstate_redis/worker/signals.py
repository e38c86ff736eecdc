"""SIGTERM/SIGINT as an asyncio.Event, for a graceful stop.

>>> stop = asyncio.Event()
>>> with stop_on_signals(stop):
...     await run_worker(orch, "t", "w1", handle, stop=stop, install_signals=False)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

log = logging.getLogger("agentstate_redis.worker")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event, signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> Iterator[None]:
    """Set ``stop`` on the first of ``signals`` (a second one is logged; the grace period still applies).

    Only in the main thread of the running loop's process; elsewhere it changes nothing.
    """
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            log.warning("%s again: still shutting down (the current task has its grace period)", sig.name)
        else:
            log.info("%s: stop claiming, finish or release the current task, then exit", sig.name)
        stop.set()

    for sig in signals:
        try:
            loop.add_signal_handler(sig, on_signal, sig)
            installed.append(sig)
        except (RuntimeError, ValueError, NotImplementedError):  # not the main thread / no signals here
            pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)

"""Plain callables handed to the async code, run on background threads instead of the event loop.

    >>> wrapper = off_loop(on_change, pool)       # an async function the async API can await
    >>> await wrapper("agent:a", None, {"n": 1})  # on_change runs on a pool thread; this waits for it

Subscription callbacks, ``get_or_compute``'s ``compute``, ``run_worker``'s handler: the
async code awaits each call, so they keep exactly the async API's ordering (one
delivery finishes before the next starts) and its error handling, while the user's
code never blocks the loop and may itself call the blocking API. Each wrapper is one
lane: its calls run one at a time in FIFO order even if an await is cancelled. Pool
threads are daemons, started when every thread is busy and ended after
``IDLE_SECONDS`` idle, so a callback that blocks never holds a process at exit.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import inspect
import threading
from collections.abc import Callable
from typing import Any

IDLE_SECONDS = 30.0


class CallbackPool:
    """Daemon threads running jobs from one queue; a new one whenever all are busy."""

    def __init__(self) -> None:
        self._jobs: collections.deque[Callable[[], None]] = collections.deque()
        self._cond = threading.Condition()
        self._idle = 0
        self.threads = 0

    def submit(self, job: Callable[[], None]) -> None:
        with self._cond:
            self._jobs.append(job)
            if self._idle > len(self._jobs) - 1:
                self._cond.notify()
                return
            self.threads += 1
        threading.Thread(target=self._work, name="agentstate-sync-callback", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._jobs:
                    self._idle += 1
                    woke = self._cond.wait(timeout=IDLE_SECONDS)
                    self._idle -= 1
                    if not woke and not self._jobs:
                        self.threads -= 1
                        return
                job = self._jobs.popleft()
            job()


class Lane:
    """FIFO calls of one callable on the pool, one at a time."""

    def __init__(self, pool: CallbackPool) -> None:
        self._pool = pool
        self._pending: collections.deque[tuple[Callable[[], Any], asyncio.Future[Any]]] = collections.deque()
        self._lock = threading.Lock()
        self._running = False

    def run(self, call: Callable[[], Any]) -> asyncio.Future[Any]:
        """Queue ``call``; the returned future (of the running loop) gets its result or error."""
        future = asyncio.get_running_loop().create_future()
        with self._lock:
            self._pending.append((call, future))
            if self._running:
                return future
            self._running = True
        self._pool.submit(self._drain)
        return future

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._running = False
                    return
                call, future = self._pending.popleft()
            try:
                outcome, failed = call(), False
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                outcome, failed = exc, True
            try:
                future.get_loop().call_soon_threadsafe(_settle, future, outcome, failed)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass


def _settle(future: asyncio.Future[Any], outcome: Any, failed: bool) -> None:
    if future.done():  # the awaiting coroutine was cancelled
        return
    if failed:
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def is_plain_callable(value: Any) -> bool:
    """A callable the async code would call on the loop: not a class, not async, not one of ours."""
    if not callable(value) or inspect.isclass(value) or getattr(value, "_off_loop_of", None) is not None:
        return False
    if inspect.iscoroutinefunction(value) or inspect.iscoroutinefunction(getattr(value, "__call__", None)):  # noqa: B004 - the method itself: is it async?
        return False
    return getattr(value, "_twin_async", None) is None


def off_loop(fn: Callable[..., Any], pool: CallbackPool) -> Callable[..., Any]:
    """An async function that runs ``fn`` on the pool (in its own lane) and returns what it returns."""
    lane = Lane(pool)

    async def call_off_loop(*args: Any, **kwargs: Any) -> Any:
        ctx = contextvars.copy_context()  # the caller's context goes along (a trace span current on the loop)
        result = await lane.run(lambda: ctx.run(fn, *args, **kwargs))
        if inspect.isawaitable(result):  # a plain function that returned a coroutine
            result = await result
        return result

    call_off_loop._off_loop_of = fn  # type: ignore[attr-defined]  # a marker attribute on the function
    call_off_loop.__name__ = getattr(fn, "__name__", "callback")
    call_off_loop.__doc__ = getattr(fn, "__doc__", None)
    return call_off_loop


class OffLoopObject:
    """An object whose plain methods the async code calls (AgentRecoveryManager's agents), run off the loop.

    ``recover_and_resume`` awaits ``agent.resume()``: a blocking agent's resume runs on a pool
    thread, where it may use the blocking API itself. Attributes read through unchanged.
    """

    def __init__(self, target: Any, pool: CallbackPool) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_pool", pool)
        object.__setattr__(self, "_methods", {})

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name.startswith("__") or not is_plain_callable(value):
            return value
        wrapped = self._methods.get(name)
        if wrapped is None or wrapped._off_loop_of != value:
            wrapped = self._methods[name] = off_loop(value, self._pool)
        return wrapped

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __repr__(self) -> str:
        return repr(self._target)

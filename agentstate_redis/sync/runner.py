"""The private event loop behind the blocking API: one daemon thread per process, shared by every sync object.

    >>> runner = default_runner()
    >>> runner.call(lambda: state.get("agent:a"), what="StateManager.get")   # blocks this thread only

Every coroutine of every sync object runs on this one loop, so sync objects can share a
backend (``backend=``, ``state_manager=``) and concurrent calls from many threads are
pipelined together, as in an async program. A call waits for as long as the coroutine
runs: the backend's own timeouts (``socket_timeout``, ``retry_seconds``) bound every Redis
round trip, and calls that wait by design (``claim_task(wait=...)``, ``run_worker``) wait
as asked. A waiting caller checks twice a second that the loop thread is alive, so a dead
loop fails its calls with BackendUnavailableError instead of leaving them blocked.

A call made from a thread whose own event loop is running raises EventLoopRunningError
(the async API is the one to use there); one made from the private loop's own thread
(an async callback calling the blocking API) would deadlock and raises the same error.

At interpreter exit, sync objects that were not closed are closed (at most
``EXIT_CLOSE_SECONDS``), so the file backend writes its last snapshot; the thread is a
daemon, so a process never waits for it. After ``fork()`` the child starts its own loop
for new objects; objects made before the fork refuse calls with a clear error.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import inspect
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import BackendUnavailableError
from .callbacks import CallbackPool
from .errors import EventLoopRunningError

T = TypeVar("T")

#: How often a waiting caller checks that the loop thread is still alive.
LIVENESS_SECONDS = 0.5
#: At interpreter exit, how long unclosed sync objects get to close.
EXIT_CLOSE_SECONDS = 5.0


class LoopRunner:
    """One event loop on one daemon thread, and the calls made into it from other threads."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.callbacks = CallbackPool()
        self._closeables: weakref.WeakSet[Any] = weakref.WeakSet()
        self._stopped = False
        started = threading.Event()
        self.thread = threading.Thread(target=self._main, args=(started,), name="agentstate-sync-loop", daemon=True)
        self.thread.start()
        started.wait()

    def _main(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(started.set)
        try:
            self.loop.run_forever()
        finally:
            self._stopped = True

    # -- state ---------------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return not self._stopped and self.thread.is_alive() and not self.loop.is_closed() and os.getpid() == self.pid

    def _why_dead(self) -> str:
        if os.getpid() != self.pid:
            return (
                f"this sync object was made in process {self.pid}, before a fork; make sync objects "
                f"again in this process ({os.getpid()})"
            )
        return "the sync API's event loop thread has stopped; make the sync object again"

    def register_closeable(self, obj: Any) -> None:
        """Close the async object ``obj`` at interpreter exit if it is still alive and open then.

        The async object, not its twin: a twin may be dropped while its object lives on (a
        backend passed inline to a manager's constructor).
        """
        self._closeables.add(obj)

    def forget_closeable(self, obj: Any) -> None:
        self._closeables.discard(obj)

    # -- calls ---------------------------------------------------------------------------------

    def check_caller(self, what: str, allow_running_loop: bool = False) -> None:
        """Refuse a blocking call where it would deadlock (our loop) or stall a running loop."""
        if threading.current_thread() is self.thread:
            raise EventLoopRunningError(
                f"{what}() is the blocking API and was called on the sync API's own event loop (from an async "
                f"callback); it would deadlock. Use the async API there: `await {what}(...)` on the object "
                f"from agentstate_redis, or pass a plain (non-async) callback"
            )
        if allow_running_loop:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        raise EventLoopRunningError(
            f"{what}() is the blocking API (agentstate_redis.sync) and was called in a thread whose event loop "
            f"is running; it would stall that loop. Use the async API there: `await {what}(...)` on the "
            f"object from agentstate_redis"
        )

    def call(self, make: Callable[[], Any], *, what: str, allow_running_loop: bool = False) -> Any:
        """Run ``make()`` on the loop (awaiting what it returns) and block until it is done; its result or error."""
        self.check_caller(what, allow_running_loop)
        if not self.alive:
            raise BackendUnavailableError(f"{what}: {self._why_dead()}")
        try:
            future = asyncio.run_coroutine_threadsafe(_invoke(make), self.loop)
        except RuntimeError as exc:  # the loop closed between the check and the submit
            raise BackendUnavailableError(f"{what}: {self._why_dead()}") from exc
        return self.wait(future, what)

    def wait(self, future: concurrent.futures.Future[T], what: str) -> T:
        try:
            while True:
                try:
                    return future.result(timeout=LIVENESS_SECONDS)
                except concurrent.futures.TimeoutError:
                    if not self.alive:
                        future.cancel()
                        raise BackendUnavailableError(f"{what}: {self._why_dead()}") from None
                except concurrent.futures.CancelledError:
                    raise BackendUnavailableError(
                        f"{what}: cancelled, the sync API's event loop is shutting down"
                    ) from None
        except BaseException:
            future.cancel()  # KeyboardInterrupt in the caller: the coroutine stops too
            raise

    def submit(self, make: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        """Start ``make()`` on the loop without waiting (callers wait with :meth:`wait`)."""
        return asyncio.run_coroutine_threadsafe(_invoke(make), self.loop)

    # -- shutdown ------------------------------------------------------------------------------

    def shutdown(self, timeout: float = EXIT_CLOSE_SECONDS) -> None:
        """Close every registered sync object still open (bounded by ``timeout``), then stop the loop."""
        if not self.alive:
            return
        objects = sorted(self._closeables, key=_close_order)
        future = self.submit(lambda: _close_all(objects))
        try:
            future.result(timeout=timeout)
        except BaseException:  # noqa: BLE001 - at exit nothing may hold the process up
            future.cancel()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=1.0)


async def _invoke(make: Callable[[], Any]) -> Any:
    result = make()
    if inspect.isawaitable(result):
        result = await result
    return result


def _close_order(obj: Any) -> int:
    """Managers first (they may close their own backend), backends last."""
    from ..backends.base import Backend

    return 1 if isinstance(obj, Backend) else 0


async def _close_all(objects: list[Any]) -> None:
    for obj in objects:
        try:
            await obj.close()
        except Exception:  # noqa: BLE001 - one failing close must not keep the others open
            pass


_lock = threading.Lock()
_runner: LoopRunner | None = None


def default_runner() -> LoopRunner:
    """The process's runner, started on first use (and again after a fork or a dead loop)."""
    global _runner
    runner = _runner
    if runner is not None and runner.alive:
        return runner
    with _lock:
        if _runner is None or not _runner.alive:
            _runner = LoopRunner()
        return _runner


def _at_exit() -> None:
    runner = _runner
    if runner is not None and runner.alive:
        runner.shutdown()


def _after_fork_in_child() -> None:
    global _runner, _lock
    _runner = None
    _lock = threading.Lock()


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

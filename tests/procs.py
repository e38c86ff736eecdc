"""Run test workers as real OS processes (spawned: nothing shared but the Redis server)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

_ctx = mp.get_context("spawn")


def _trampoline(target: Callable[..., Any], args: tuple[Any, ...], results: Any, index: int) -> None:
    try:
        results.put((index, "ok", target(*args)))
    except BaseException as exc:  # noqa: BLE001 - report everything to the parent
        import traceback

        results.put((index, "error", f"{exc!r}\n{traceback.format_exc()}"))


def run_processes(target: Callable[..., Any], arg_list: Sequence[tuple[Any, ...]], timeout: float = 120) -> list[Any]:
    """Start one process per args tuple, wait for all, return their results in order.

    Fails (AssertionError) if any process raised, died, or overran ``timeout``.
    """
    results = _ctx.Queue()
    procs = [_ctx.Process(target=_trampoline, args=(target, args, results, i)) for i, args in enumerate(arg_list)]
    for p in procs:
        p.start()
    out: dict[int, Any] = {}
    errors = []
    try:
        for _ in procs:
            index, status, value = results.get(timeout=timeout)
            if status == "ok":
                out[index] = value
            else:
                errors.append(f"worker {index}: {value}")
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
    assert not errors, "\n".join(errors)
    return [out[i] for i in range(len(procs))]


def start_process(target: Callable[..., Any], *args: Any) -> Any:
    """A started background process (kill/join it yourself)."""
    p = _ctx.Process(target=target, args=args, daemon=True)
    p.start()
    return p


@contextlib.contextmanager
def killed_at_end(procs: list[Any]) -> Iterator[list[Any]]:
    """``procs`` (of ``start_process``) for the block, each killed when it ends, however it ends."""
    try:
        yield procs
    finally:
        for p in procs:
            p.kill()


async def join_processes(procs: list[Any], timeout: float = 120) -> None:
    """Wait (without blocking the event loop) for processes of ``start_process``; each must exit 0 in time."""
    deadline = time.monotonic() + timeout
    for p in procs:
        while p.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not p.is_alive(), "a worker overran"
        assert p.exitcode == 0, f"a worker failed (exit {p.exitcode})"

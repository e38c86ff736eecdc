"""Subscriptions: latency of a change event from a save in one process to the callback in another.

The subscriber is a separate process (StateManager.subscribe("lat:*", cb)); the writer,
this process, saves ``{"t": CLOCK_MONOTONIC ns}`` with pauses of 1-3 ms, and the
callback takes ``now - t``: the whole path save -> script PUBLISH -> pub/sub
connection -> decode -> callback. One subscriber process serves every repeat.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from agentstate_redis import RedisBackend, StateManager

from .common import Section, delete_prefix, pct, run_id


async def _subscriber(url: str, prefix: str) -> None:
    """Child process: commands on stdin (reset/report/stop), replies as JSON lines on stdout."""
    backend = RedisBackend(url, key_prefix=prefix)
    state = StateManager(backend=backend)
    samples: list[int] = []

    def on_change(key: str, old: Any, new: Any) -> None:
        if new and "t" in new:
            samples.append(time.monotonic_ns() - new["t"])

    await state.subscribe("lat:*", on_change)
    print(json.dumps("ready"), flush=True)
    while True:
        msg = (await asyncio.to_thread(sys.stdin.readline)).strip()
        if msg == "reset":
            samples.clear()
        elif msg == "report":
            print(json.dumps(samples), flush=True)
        else:
            break
    await backend.close()


async def run(url: str, duration: float = 2.0, repeats: int = 3) -> Section:
    sec = Section("Subscriptions (change event, write in one process -> callback in another)")
    t_start = time.perf_counter()
    prefix = f"bench{run_id()}:"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.subscriptions", url, prefix],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(Path(__file__).resolve().parent.parent),
    )

    def send(msg: str) -> None:
        assert proc.stdin is not None
        proc.stdin.write(msg + "\n")
        proc.stdin.flush()

    def recv() -> Any:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("subscriber process exited")
        return json.loads(line)

    backend = RedisBackend(url, key_prefix=prefix)
    state = StateManager(backend=backend)
    try:
        await asyncio.wait_for(asyncio.to_thread(recv), 60)
        await state.save("lat:warm", {"t": time.monotonic_ns()})
        for _ in range(repeats):
            send("reset")
            await asyncio.sleep(0.05)
            sent = 0
            end = time.perf_counter() + duration
            while time.perf_counter() < end:
                await state.save(f"lat:{sent % 8}", {"t": time.monotonic_ns()})
                sent += 1
                await asyncio.sleep(random.uniform(0.001, 0.003))
            await asyncio.sleep(0.2)
            send("report")
            got = await asyncio.wait_for(asyncio.to_thread(recv), 30)
            ms = [v / 1e6 for v in got]
            sec.add("ours event latency p50", pct(ms, 50), "ms")
            sec.add("ours event latency p99", pct(ms, 99), "ms")
            sec.add("events delivered / sent", len(got) / max(sent, 1), "", "higher")
        send("stop")
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await backend.close()
        await delete_prefix(url, f"{prefix}*")
    sec.absolute_targets.append(("ours event latency p99", "<", 5.0))
    sec.notes.append("writer saves every 1-3 ms to 8 keys; CLOCK_MONOTONIC is shared by both processes.")
    sec.seconds = time.perf_counter() - t_start
    return sec


if __name__ == "__main__":
    asyncio.run(_subscriber(sys.argv[1], sys.argv[2]))

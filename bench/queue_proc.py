"""One task-queue process of the bench: a producer or a worker, for ours, bullmq or saq.

    python bench/queue_proc.py '{"lib": "ours", "role": "worker", "url": ..., "queue": ..., "shm": ..., "index": 0}'

Standalone on purpose: the peers run it with the peers' python (which has no
agentstate_redis), ours with the project's. Processes talk to the orchestrator only
through a shared-memory file of int64 slots (no Redis traffic of their own):

    0 command (0 pause, 1 produce, 2 exit)   1 enqueued   2 producer ready   3 backlog limit
    8 + i completions of worker i            64 + i worker i ready

Every worker runs one consumer (concurrency 1); tasks are no-ops. Ours completes a task and
claims the next in one call (``complete_and_claim``), as bullmq's worker fetches the next job
when it completes one; it blocks in ``claim_task`` only when that finds nothing. The producer keeps at
most ``backlog`` tasks outstanding, enqueuing one task per call from 8 coroutines.

Wake-up latency: a ``waiter`` blocks in the library's own blocking dequeue; a ``waker``
enqueues one task {seq}, the waiter writes (seq, CLOCK_MONOTONIC at dequeue) to slots
10/11, the waker takes the difference from just before its enqueue call. Each round
(command 1) runs ``duration`` s and writes p50/p99 ns to slots 5/6, samples to 7 and
bumps slot 4.
"""

from __future__ import annotations

import asyncio
import json
import mmap
import os
import random
import struct
import sys
import time
from typing import Any

SLOTS = 128
CMD, ENQUEUED, PRODUCER_READY, BACKLOG = 0, 1, 2, 3
DONE0, READY0 = 8, 64
ROUNDS, P50, P99, SAMPLES, SEQ, STAMP = 4, 5, 6, 7, 10, 11
PRODUCERS = 8


class Shm:
    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR)
        self.map = mmap.mmap(self.fd, SLOTS * 8)

    def get(self, slot: int) -> int:
        return struct.unpack_from("q", self.map, slot * 8)[0]

    def set(self, slot: int, value: int) -> None:
        struct.pack_into("q", self.map, slot * 8, value)

    def done(self, workers: int) -> int:
        return sum(struct.unpack_from(f"{workers}q", self.map, DONE0 * 8))


async def exit_requested(shm: Shm) -> None:
    while shm.get(CMD) != 2:
        await asyncio.sleep(0.02)


async def produce(shm: Shm, workers: int, enqueue_one: Any) -> None:
    backlog = shm.get(BACKLOG)
    shm.set(PRODUCER_READY, 1)
    enqueued = 0

    async def one() -> None:
        nonlocal enqueued
        while True:
            cmd = shm.get(CMD)
            if cmd == 2:
                return
            if cmd == 1 and enqueued - shm.done(workers) < backlog:
                enqueued += 1
                await enqueue_one()
                shm.set(ENQUEUED, shm.get(ENQUEUED) + 1)
            else:
                await asyncio.sleep(0.0005)

    await asyncio.gather(*(one() for _ in range(PRODUCERS)))


def mark(shm: Shm, seq: int) -> None:
    shm.set(STAMP, time.monotonic_ns())
    shm.set(SEQ, seq)


async def wake_rounds(shm: Shm, duration: float, enqueue_seq: Any) -> None:
    """The waker: rounds of (pause 2-6 ms, enqueue, wait for the waiter's mark) until exit."""
    shm.set(PRODUCER_READY, 1)
    seq = 0
    while True:
        cmd = shm.get(CMD)
        if cmd == 2:
            return
        if cmd != 1:
            await asyncio.sleep(0.005)
            continue
        samples: list[int] = []
        end = time.perf_counter() + duration
        while time.perf_counter() < end:
            await asyncio.sleep(random.uniform(0.002, 0.006))
            seq += 1
            t0 = time.monotonic_ns()
            await enqueue_seq(seq)
            give_up = time.perf_counter() + 5
            while shm.get(SEQ) != seq and time.perf_counter() < give_up:
                await asyncio.sleep(0.0001)
            if shm.get(SEQ) == seq:
                samples.append(shm.get(STAMP) - t0)
        samples.sort()
        if samples:
            shm.set(P50, samples[len(samples) // 2])
            shm.set(P99, samples[min(len(samples) - 1, int(len(samples) * 0.99))])
        shm.set(SAMPLES, len(samples))
        shm.set(CMD, 0)
        shm.set(ROUNDS, shm.get(ROUNDS) + 1)


# -- ours ----------------------------------------------------------------------------------------


async def ours(args: dict[str, Any], shm: Shm) -> None:
    from agentstate_redis import RedisBackend
    from agentstate_redis.orchestration import OrchestrationStateManager

    backend = RedisBackend(args["url"], key_prefix=args["queue"] + ":")
    orch = OrchestrationStateManager(backend=backend)
    await backend.connect()
    team = "bench"
    await orch.create_team(team, exist_ok=True)
    if args["role"] == "producer":
        await produce(shm, args["workers"], lambda: orch.enqueue_task(team, {"type": "noop"}))
    elif args["role"] == "waker":
        await wake_rounds(
            shm, args["duration"], lambda seq: orch.enqueue_task(team, {"type": "t", "data": {"seq": seq}})
        )
    elif args["role"] == "waiter":
        shm.set(READY0, 1)
        while shm.get(CMD) != 2:
            task = await orch.claim_task(team, "waiter", lease=30, wait=1)
            if task is not None:
                mark(shm, task.data["seq"])
                await orch.complete_task(team, task.id, None, token=task.token)
    else:
        i = args["index"]
        agent = f"w{i}"
        slot = DONE0 + i
        shm.set(READY0 + i, 1)
        n = 0
        task = None
        while shm.get(CMD) != 2:
            if task is None:  # idle: block in the claim until a task comes
                task = await orch.claim_task(team, agent, lease=30, wait=0.2)
                if task is None:
                    continue
            # complete and claim the next task in one script, as bullmq's worker fetches its next job
            task = await orch.complete_and_claim(team, task.id, None, agent_id=agent, token=task.token, lease=30)
            n += 1
            shm.set(slot, n)
    await backend.close()


# -- bullmq --------------------------------------------------------------------------------------


async def bullmq(args: dict[str, Any], shm: Shm) -> None:
    from bullmq import Queue, Worker

    opts = {"connection": args["url"], "prefix": args["queue"]}
    if args["role"] == "producer":
        queue = Queue("bench", opts)
        job_opts = {"removeOnComplete": 1000}  # ours keeps the last 1000 completed tasks too
        await produce(shm, args["workers"], lambda: queue.add("noop", {}, job_opts))
        await queue.close()
        return
    if args["role"] == "waker":
        queue = Queue("bench", opts)
        await wake_rounds(shm, args["duration"], lambda seq: queue.add("t", {"seq": seq}, {"removeOnComplete": 1000}))
        await queue.close()
        return
    if args["role"] == "waiter":

        async def on_job(job: Any, token: str) -> None:
            mark(shm, job.data["seq"])

        waiter = Worker("bench", on_job, {**opts, "concurrency": 1})
        shm.set(READY0, 1)
        await exit_requested(shm)
        await waiter.close(force=True)
        return
    i = args["index"]
    slot = DONE0 + i
    n = 0

    async def process(job: Any, token: str) -> None:
        return None

    def completed(job: Any, result: Any) -> None:
        nonlocal n
        n += 1
        shm.set(slot, n)

    worker = Worker("bench", process, {**opts, "concurrency": 1, "drainDelay": 1})
    worker.on("completed", completed)
    shm.set(READY0 + i, 1)
    await exit_requested(shm)
    await worker.close(force=True)


# -- saq -----------------------------------------------------------------------------------------

# saq finds job functions by qualified name: they must be module-level.
_SAQ_SHM: list[Shm] = []


async def noop(ctx: Any) -> None:
    return None


async def t(ctx: Any, *, seq: int) -> None:
    mark(_SAQ_SHM[0], seq)


async def saq(args: dict[str, Any], shm: Shm) -> None:
    from saq import Queue, Worker

    queue = Queue.from_url(args["url"], name=args["queue"])
    await queue.connect()
    if args["role"] == "producer":
        await produce(shm, args["workers"], lambda: queue.enqueue("noop"))
        await queue.disconnect()
        return
    if args["role"] == "waker":
        await wake_rounds(shm, args["duration"], lambda seq: queue.enqueue("t", seq=seq))
        await queue.disconnect()
        return
    if args["role"] == "waiter":
        _SAQ_SHM.append(shm)
        waiter = Worker(queue, functions=[t], concurrency=1)
        job = asyncio.ensure_future(waiter.start())
        shm.set(READY0, 1)
        await exit_requested(shm)
        await waiter.stop()
        job.cancel()
        await queue.disconnect()
        return
    i = args["index"]
    slot = DONE0 + i
    n = 0

    async def after(ctx: Any) -> None:
        nonlocal n
        n += 1
        shm.set(slot, n)

    worker = Worker(queue, functions=[noop], concurrency=1, after_process=after)
    task = asyncio.ensure_future(worker.start())
    shm.set(READY0 + i, 1)
    await exit_requested(shm)
    await worker.stop()
    task.cancel()
    await queue.disconnect()


def main() -> None:
    args = json.loads(sys.argv[1])
    shm = Shm(args["shm"])
    asyncio.run({"ours": ours, "bullmq": bullmq, "saq": saq}[args["lib"]](args, shm))


if __name__ == "__main__":
    main()

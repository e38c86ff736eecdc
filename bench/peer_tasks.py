"""bullmq or saq doing a fixed amount of queue work, run with the peers' python while the caller reads the
server's counters before and after (``python peer_tasks.py '{"lib": "bullmq", "mode": "fill", ...}'``):

- ``fill``: enqueue ``n`` no-op jobs and exit (task_memory.py: bytes per pending job);
- ``cycle`` (bullmq): add ``n`` jobs one at a time, then one worker of concurrency 1 processes them, each
  completion fetching the next job (task_work.py: server CPU and commands per job).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

BATCH = 1000


async def bullmq(url: str, prefix: str, n: int) -> None:
    from bullmq import Queue

    queue = Queue("bench", {"connection": url, "prefix": prefix})
    for start in range(0, n, BATCH):
        await queue.addBulk([{"name": "noop", "data": {}} for _ in range(min(BATCH, n - start))])
    await queue.close()


async def saq(url: str, prefix: str, n: int) -> None:
    from saq import Queue

    queue = Queue.from_url(url, name=prefix)
    await queue.connect()
    for start in range(0, n, BATCH):
        await asyncio.gather(*(queue.enqueue("noop") for _ in range(min(BATCH, n - start))))
    await queue.disconnect()


async def bullmq_cycle(url: str, prefix: str, n: int) -> None:
    from bullmq import Queue, Worker

    queue = Queue("bench", {"connection": url, "prefix": prefix})
    for _ in range(n):
        await queue.add("noop", {}, {"removeOnComplete": 1000})
    done = asyncio.Event()
    count = 0

    async def process(job: Any, token: str) -> None:
        return None

    def completed(job: Any, result: Any) -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    worker = Worker("bench", process, {"connection": url, "prefix": prefix, "concurrency": 1})
    worker.on("completed", completed)
    await done.wait()
    await worker.close()
    await queue.close()


def main() -> None:
    args: dict[str, Any] = json.loads(sys.argv[1])
    t0 = time.perf_counter()
    verbs = {("bullmq", "fill"): bullmq, ("saq", "fill"): saq, ("bullmq", "cycle"): bullmq_cycle}
    asyncio.run(verbs[(args["lib"], args.get("mode", "fill"))](args["url"], args["prefix"], int(args["n"])))
    print(json.dumps({"seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()

"""Enqueue ``n`` no-op jobs with bullmq or saq and exit: run with the peers' python by task_memory.py,
which reads the server's used_memory before and after (``python peer_memory.py '{"lib": ..., ...}'``)."""

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


def main() -> None:
    args: dict[str, Any] = json.loads(sys.argv[1])
    t0 = time.perf_counter()
    asyncio.run({"bullmq": bullmq, "saq": saq}[args["lib"]](args["url"], args["prefix"], int(args["n"])))
    print(json.dumps({"seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()

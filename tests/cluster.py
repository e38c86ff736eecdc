"""A Redis Cluster of N primaries (optionally with replicas) started for the tests.

Slots are assigned with CLUSTER ADDSLOTSRANGE and nodes joined with CLUSTER
MEET, so no redis-cli is needed on the machine.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field

import redis

from agentstate_redis.embedded import EmbeddedRedis, free_port

SLOTS = 16384


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is valid too."""
    while True:
        port = free_port()
        if port <= 55000 and _bindable(port + 10000):
            return port


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _node(args: list[str]) -> EmbeddedRedis:
    return EmbeddedRedis(_cluster_port(), extra_args=args + ["--cluster-config-file", "nodes.conf"])


@dataclass
class RedisClusterFixture:
    nodes: list[EmbeddedRedis] = field(default_factory=list)
    replicas: list[EmbeddedRedis] = field(default_factory=list)
    url: str = ""

    @classmethod
    def external(cls, url: str) -> RedisClusterFixture:
        return cls(url=url)

    @classmethod
    def start(cls, primaries: int = 3, replicas_per_primary: int = 0) -> RedisClusterFixture:
        args = ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000",
                "--cluster-require-full-coverage", "no"]
        fixture = cls()
        try:
            for _ in range(primaries):
                fixture.nodes.append(_node(args).start())
            for _ in range(primaries * replicas_per_primary):
                fixture.replicas.append(_node(args).start())
            fixture._form(primaries)
        except BaseException:
            fixture.stop()
            raise
        fixture.url = f"redis+cluster://127.0.0.1:{fixture.nodes[0].port}"
        return fixture

    def _client(self, node: EmbeddedRedis) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=node.port, decode_responses=True)

    def _form(self, primaries: int) -> None:
        per = SLOTS // primaries
        for i, node in enumerate(self.nodes):
            lo = i * per
            hi = SLOTS - 1 if i == primaries - 1 else (i + 1) * per - 1
            self._client(node).execute_command("CLUSTER", "ADDSLOTSRANGE", lo, hi)
        first = self._client(self.nodes[0])
        for node in self.nodes[1:] + self.replicas:
            first.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port)
        self._wait(lambda: all(self._client(n).cluster("info")["cluster_state"] == "ok" for n in self.nodes))
        if self.replicas:
            ids = [self._client(n).execute_command("CLUSTER", "MYID") for n in self.nodes]
            self._wait(lambda: all(len(self._client(r).execute_command("CLUSTER", "NODES").splitlines())
                                   >= len(self.nodes) + len(self.replicas) for r in self.replicas))
            for i, replica in enumerate(self.replicas):
                self._client(replica).execute_command("CLUSTER", "REPLICATE", ids[i % len(ids)])
        self._wait(lambda: all(self._client(n).cluster("info")["cluster_state"] == "ok"
                               for n in self.nodes + self.replicas))

    @staticmethod
    def _wait(check, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except (redis.RedisError, KeyError):
                pass
            time.sleep(0.1)
        raise TimeoutError("cluster did not become ready")

    def stop(self) -> None:
        for node in self.nodes + self.replicas:
            node.cleanup()

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
    return EmbeddedRedis(_cluster_port(), extra_args=[*args, "--cluster-config-file", "nodes.conf"])


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
        args = ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000", "--cluster-require-full-coverage", "no"]
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
            self._wait(
                lambda: all(
                    len(self._client(r).execute_command("CLUSTER", "NODES").splitlines())
                    >= len(self.nodes) + len(self.replicas)
                    for r in self.replicas
                )
            )
            for i, replica in enumerate(self.replicas):
                self._client(replica).execute_command("CLUSTER", "REPLICATE", ids[i % len(ids)])
        self._wait(
            lambda: all(self._client(n).cluster("info")["cluster_state"] == "ok" for n in self.nodes + self.replicas)
        )

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

    # -- failover helpers (used by tests/faults/test_reliability_failover.py) ------------------------

    @staticmethod
    def alive(node: EmbeddedRedis) -> bool:
        return node.process is not None and node.process.poll() is None

    def node_at(self, port: int) -> EmbeddedRedis:
        return next(n for n in self.nodes + self.replicas if n.port == port)

    def topology(self, node: EmbeddedRedis | None = None) -> list[dict[str, object]]:
        """CLUSTER NODES as seen by ``node`` (else a live node): id, port, role, master id, slot ranges."""
        if node is None:
            node = next(n for n in self.nodes + self.replicas if self.alive(n))
        out = []
        for line in self._client(node).execute_command("CLUSTER", "NODES").splitlines():
            parts = line.split()
            flags = parts[2].split(",")
            ranges = []
            for item in parts[8:]:
                if item.startswith("["):
                    continue
                lo, _, hi = item.partition("-")
                ranges.append((int(lo), int(hi or lo)))
            out.append(
                {
                    "id": parts[0],
                    "port": int(parts[1].split(":")[1].split("@")[0]),
                    "role": "master" if "master" in flags else "replica",
                    "master": parts[3],
                    "slots": ranges,
                    "failed": "fail" in flags or "fail?" in flags,
                }
            )
        return out

    def primary_for_slot(self, slot: int, node: EmbeddedRedis | None = None) -> EmbeddedRedis:
        """The live primary serving ``slot`` as ``node`` sees it (a failed primary is skipped:
        other nodes keep listing its slots until gossip reaches them)."""
        for entry in self.topology(node):
            if entry["role"] == "master" and not entry["failed"] and any(lo <= slot <= hi for lo, hi in entry["slots"]):  # type: ignore[attr-defined]
                return self.node_at(entry["port"])  # type: ignore[arg-type]
        raise LookupError(f"no primary serves slot {slot}")

    def replica_of(self, primary: EmbeddedRedis) -> EmbeddedRedis:
        """A live replica of ``primary`` (LookupError if it has none)."""
        nodes = self.topology()
        pid = next(e["id"] for e in nodes if e["port"] == primary.port)
        for entry in nodes:
            if entry["role"] == "replica" and entry["master"] == pid:
                node = self.node_at(entry["port"])  # type: ignore[arg-type]
                if self.alive(node):
                    return node
        raise LookupError(f"primary on port {primary.port} has no live replica")

    def wait_for_sync(self, timeout: float = 60.0) -> None:
        """Every live node agrees on the roles, every live node without slots is a replica,
        and every replica's link is up with its offset equal to its primary's."""

        def synced() -> bool:
            live = [n for n in self.nodes + self.replicas if self.alive(n)]
            ports = {n.port for n in live}
            views = []
            for node in live:
                view = {e["port"]: e for e in self.topology(node) if e["port"] in ports}
                if any(e["role"] == "master" and not e["slots"] for e in view.values()):
                    return False  # a REPLICATE not yet applied or not yet gossiped
                views.append({port: (e["role"], e["master"]) for port, e in view.items()})
            if len(ports) != len(views[0]) or any(v != views[0] for v in views):
                return False
            for node in live:
                info = self._client(node).info("replication")
                if info["role"] != "slave":
                    continue
                if info.get("master_link_status") != "up":
                    return False
                master = self._client(self.node_at(int(info["master_port"]))).info("replication")
                if info["slave_repl_offset"] != master["master_repl_offset"]:
                    return False
            return True

        self._wait(synced, timeout)

    def kill_primary(self, primary: EmbeddedRedis, *, pause_ms: int = 10_000, timeout: float = 60.0) -> EmbeddedRedis:
        """SIGKILL ``primary`` once its replica holds every write it acknowledged; returns that replica.

        Writes are paused on the primary (CLIENT PAUSE WRITE: clients keep sending, their
        commands wait) until the replica's offset equals the primary's, so the kill loses
        no acknowledged write. Without the pause, Redis replication being asynchronous, a
        write acknowledged in the last milliseconds before the kill could be lost.
        """
        replica = self.replica_of(primary)
        self._client(primary).execute_command("CLIENT", "PAUSE", pause_ms, "WRITE")

        def caught_up() -> bool:
            info = self._client(replica).info("replication")
            master = self._client(primary).info("replication")
            return info.get("master_link_status") == "up" and info["slave_repl_offset"] == master["master_repl_offset"]

        self._wait(caught_up, timeout)
        primary.stop(kill=True)
        return replica

    def wait_for_failover(self, replica: EmbeddedRedis, timeout: float = 60.0) -> None:
        """``replica`` is a primary and every live node reports cluster_state:ok."""

        def done() -> bool:
            if self._client(replica).info("replication")["role"] != "master":
                return False
            return all(
                self._client(n).cluster("info")["cluster_state"] == "ok"
                for n in self.nodes + self.replicas
                if self.alive(n)
            )

        self._wait(done, timeout)

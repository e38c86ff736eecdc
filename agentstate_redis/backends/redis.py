"""The production backend: redis-py asyncio with hiredis, for one server, Sentinel or Cluster.

    >>> RedisBackend(url="redis://localhost:6379/0")
    >>> RedisBackend(url="rediss://user:secret@redis.internal:6380/0")        # TLS
    >>> RedisBackend(url="unix:///run/redis.sock?db=2")
    >>> RedisBackend(url="redis+sentinel://s1:26379,s2:26379/mymaster/0")
    >>> RedisBackend(url="redis+cluster://node1:7000")                       # or cluster=True

With no url, ``REDIS_URL`` from the environment is used, then
``redis://localhost:6379/0``.

Liveness: every reply must come within ``liveness_timeout`` seconds (10 by default;
blocking waits are cut into pieces shorter than that), or the connection is dropped
and the call retried on a fresh one; TCP keepalive and ``TCP_USER_TIMEOUT`` find a
peer that vanished (host gone, NAT entry dropped) within about the same time. A
middlebox that keeps acknowledging a dead peer defeats TCP's checks, not the reply
timeout. redis-py's own command retries are off: the script runner alone decides
what may be resent (see scripts.py).
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelManagedConnection, SentinelManagedSSLConnection
from redis.backoff import NoBackoff

from ..errors import InvalidInputError
from .redis_connection_write import direct_write
from .redis_connection_packing import hiredis_packing
from ..sends import reports_sends
from .base import Backend
from .server_checks import check_eviction, eviction_policy, evicts, script_oom_guard

DEFAULT_URL = "redis://localhost:6379/0"
_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster")


def default_url() -> str:
    return os.environ.get("REDIS_URL") or DEFAULT_URL


class RedisBackend(Backend):
    name = "redis"

    def __init__(
        self,
        url: str | None = None,
        *,
        db: int | None = None,
        connection_pool_size: int = 10,
        cluster: bool | None = None,
        socket_timeout: float | None = None,
        autopipeline: bool = True,
        **options: Any,
    ) -> None:
        if socket_timeout is not None:  # the older name of liveness_timeout
            options["liveness_timeout"] = socket_timeout
        super().__init__(**options)
        self.url = url or default_url()
        scheme = urlsplit(self.url).scheme
        if scheme not in _SCHEMES:
            raise InvalidInputError(f"redis url scheme must be one of {_SCHEMES}, got {scheme!r} in {self._safe_url()}")
        if not isinstance(connection_pool_size, int) or connection_pool_size < 1:
            raise InvalidInputError(f"connection_pool_size must be a positive integer, got {connection_pool_size!r}")
        self.cluster = bool(cluster) or scheme.endswith("+cluster")
        self.sentinel = scheme.endswith("+sentinel")
        self.autopipeline = autopipeline
        self.requested_db = db
        self.pool_size = connection_pool_size
        self._nodes: list[Any] = []
        #: The server's maxmemory-policy as read at connect (None: CONFIG and INFO refused); on a
        #: cluster, the first evicting one of its primaries, else theirs.
        self.maxmemory_policy: str | None = None

    def _safe_url(self) -> str:
        parts = urlsplit(self.url)
        if parts.password:
            return self.url.replace(f":{parts.password}@", ":***@")
        return self.url

    def describe(self) -> str:
        kind = "cluster" if self.cluster else "sentinel" if self.sentinel else "server"
        return f"redis {kind} at {self._safe_url()}"

    @property
    def socket_timeout(self) -> float:
        """How long a command waits for its reply: the liveness timeout."""
        return self.liveness_timeout

    def _common(self) -> dict[str, Any]:
        common: dict[str, Any] = {
            "decode_responses": True,
            "socket_timeout": self.liveness_timeout,
            "socket_connect_timeout": min(self.liveness_timeout, 5.0),
            "health_check_interval": 30,
        }
        if urlsplit(self.url).scheme != "unix":
            common["socket_keepalive"] = True
            common["socket_keepalive_options"] = keepalive_options(self.liveness_timeout)
        return common

    async def _open(self) -> Any:
        if self.cluster:
            url = self.url.replace("+cluster", "", 1)
            # retries=0: redis-py would resend a timed-out EVALSHA itself, past the runner's checks
            cluster = RedisCluster.from_url(
                url, max_connections=max(self.pool_size, 32), retry=Retry(NoBackoff(), 0), **self._common()
            )
            fast_cluster_connections(cluster)
            return cluster
        if self.sentinel:
            return self._open_sentinel()
        pool = aioredis.BlockingConnectionPool.from_url(
            self.url, max_connections=self.pool_size, timeout=self.liveness_timeout, **self._common()
        )
        if self.requested_db is not None:  # the URL's /db would otherwise win over the argument
            pool.connection_kwargs["db"] = self.requested_db
        pool.connection_class = reports_sends(direct_write(hiredis_packing(cast(type, pool.connection_class))))
        client = aioredis.Redis.from_pool(pool)  # the client owns the pool: closing it closes the sockets
        self.db = int(pool.connection_kwargs.get("db", 0) or 0)
        return client

    async def _inspect_server(self, client: Any) -> str:
        """Read maxmemory-policy (warn or refuse if it evicts) and whether the server has script flags."""
        if self.cluster:
            policies = [await eviction_policy(client, target_nodes=node) for node in client.get_primaries()]
            self.maxmemory_policy = next((p for p in policies if evicts(p)), policies[0] if policies else None)
        else:
            self.maxmemory_policy = await eviction_policy(client)
        check_eviction(self.maxmemory_policy, self.eviction, self.describe())
        return await script_oom_guard(client)

    def _open_sentinel(self) -> Any:
        parts = urlsplit(self.url)
        hosts = []
        for hostport in parts.netloc.rsplit("@", 1)[-1].split(","):
            host, _, port = hostport.partition(":")
            hosts.append((host, int(port or 26379)))
        path = [p for p in parts.path.split("/") if p]
        if not path:
            raise InvalidInputError(f"sentinel url needs a service name: {self._safe_url()}")
        service = path[0]
        db = self.requested_db if self.requested_db is not None else int(path[1]) if len(path) > 1 else 0
        self.db = db
        query = parse_qs(parts.query)
        password = unquote(parts.password) if parts.password else None
        sentinel_password = query.get("sentinel_password", [None])[0]
        ssl = parts.scheme.startswith("rediss")
        sentinel = Sentinel(
            hosts,
            sentinel_kwargs={"password": sentinel_password, "socket_timeout": self.liveness_timeout},
            ssl=ssl,
        )
        return sentinel.master_for(
            service,
            db=db,
            password=password,
            username=unquote(parts.username) if parts.username else None,
            max_connections=self.pool_size,
            connection_class=reports_sends(SentinelManagedSSLConnection if ssl else SentinelManagedConnection),
            **self._common(),
        )

    async def pubsub_clients(self) -> list[Any]:
        """One plain client per primary on a cluster (keyspace events are per node)."""
        await self.connect()
        if not self.cluster:
            return [self.client]
        if not self._nodes:
            kwargs = dict(self.client.get_connection_kwargs())
            kwargs.pop("connection_class", None)
            kwargs = {k: v for k, v in kwargs.items() if k in _NODE_KWARGS}
            for node in self.client.get_primaries():
                self._nodes.append(aioredis.Redis(host=node.host, port=node.port, **kwargs))
        return list(self._nodes)

    async def current_primaries(self) -> list[tuple[str, int]]:
        """(host, port) of every primary, from a fresh CLUSTER SLOTS (not the client's cache)."""
        await self.connect()
        if not self.cluster:
            return []
        await self.client.nodes_manager.initialize()
        return [(node.host, int(node.port)) for node in self.client.get_primaries()]

    async def refresh_nodes(self) -> list[Any]:
        """Forget per-node clients so the next call follows a new topology (failover)."""
        for node in self._nodes:
            with contextlib.suppress(Exception):
                await node.aclose()
        self._nodes = []
        if self.cluster:
            await self.client.nodes_manager.initialize()
        return await self.pubsub_clients()

    async def close(self) -> None:
        for node in self._nodes:
            try:
                await node.aclose()
            except Exception:  # noqa: BLE001
                pass
        self._nodes = []
        await super().close()


def fast_cluster_connections(client: RedisCluster) -> None:
    """Give every node connection of ``client`` the hiredis packer and the direct write, as on one server.

        >>> fast_cluster_connections(RedisCluster.from_url("redis://node1:7000"))

    RedisCluster takes no connection class; its nodes, the ones it knows and the ones it
    finds later (from ``connection_kwargs``, shared with its nodes manager), build their
    connections from ``connection_class``. Call before the client connects.
    """
    kwargs = client.get_connection_kwargs()
    connection_class = direct_write(hiredis_packing(kwargs["connection_class"]))
    kwargs["connection_class"] = connection_class
    for node in client.startup_nodes:
        node.connection_class = connection_class


_NODE_KWARGS = {
    "username",
    "password",
    "decode_responses",
    "socket_timeout",
    "socket_connect_timeout",
    "ssl",
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_cert_reqs",
    "health_check_interval",
    "socket_keepalive",
    "socket_keepalive_options",
}


def keepalive_options(liveness_timeout: float) -> dict[int, int]:
    """TCP options that find a peer gone silent within about ``liveness_timeout`` seconds.

        >>> keepalive_options(10.0)   # on Linux
        {4: 5, 5: 1, 6: 3, 18: 10000}

    Keepalive probes start after half of it idle and three unanswered probes (a sixth
    apart) close the connection; ``TCP_USER_TIMEOUT`` does the same for a command whose
    bytes the peer never acknowledges. Options the platform lacks are left out.
    """
    idle = getattr(socket, "TCP_KEEPIDLE", None) or getattr(socket, "TCP_KEEPALIVE", None)  # macOS: KEEPALIVE
    wanted = [
        (idle, max(1, int(liveness_timeout / 2))),
        (getattr(socket, "TCP_KEEPINTVL", None), max(1, int(liveness_timeout / 6))),
        (getattr(socket, "TCP_KEEPCNT", None), 3),
        (getattr(socket, "TCP_USER_TIMEOUT", None), max(1000, int(liveness_timeout * 1000))),
    ]
    return {option: value for option, value in wanted if option is not None}

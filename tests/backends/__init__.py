"""Tests of backends and the runtime: file backend, connections, scripts, config, cluster, TLS,
server choice."""

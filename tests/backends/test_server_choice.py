"""AGENTSTATE_TEST_SERVER / AGENTSTATE_REDIS_SERVER: every server the tests start is the chosen one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from agentstate_redis import BackendUnavailableError, EmbeddedRedis
from agentstate_redis.embedded import SERVER_CHOICES, find_server_binary, server_binary, server_version

from ..cluster import RedisClusterFixture

ROOT = Path(__file__).resolve().parents[2]


def _version_of(url: str) -> str:
    with redis.Redis.from_url(url, decode_responses=True) as client:
        info = client.info("server")
    name = "valkey" if "valkey_version" in info else "redis"
    return f"{name}-server {info.get('valkey_version') or info['redis_version']}"


def test_the_session_server_and_the_cluster_run_the_chosen_binary(
    redis_url: str, redis_cluster: RedisClusterFixture
) -> None:
    chosen = server_version(find_server_binary())
    if os.environ.get("REDIS_URL") or os.environ.get("REDIS_CLUSTER_URL"):
        pytest.skip("REDIS_URL / REDIS_CLUSTER_URL: the servers are not the tests' own")
    assert _version_of(redis_url) == chosen
    for node in redis_cluster.nodes:
        assert _version_of(node.url) == chosen
    if os.environ.get("AGENTSTATE_TEST_SERVER"):
        assert os.environ["AGENTSTATE_REDIS_SERVER"] == server_binary(os.environ["AGENTSTATE_TEST_SERVER"])


def test_server_names_resolve_or_say_what_to_install(tmp_path: Path) -> None:
    for name in SERVER_CHOICES:
        try:
            binary = server_binary(name)
        except BackendUnavailableError as missing:
            assert name in str(missing) and ("install" in str(missing) or "PATH" in str(missing))
            continue
        assert os.access(binary, os.X_OK) and server_version(binary).split()[0] in ("redis-server", "valkey-server")
    with pytest.raises(BackendUnavailableError, match=r"'no-such-server': not on PATH, and not one of"):
        server_binary("no-such-server")
    (tmp_path / "not-executable").write_text("")
    with pytest.raises(BackendUnavailableError, match="no executable file"):
        server_binary(str(tmp_path / "not-executable"))


def test_a_relative_data_dir_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with EmbeddedRedis(data_dir="rel/data", appendonly=True) as server:
        assert server.data_dir == tmp_path / "rel" / "data"
        assert (tmp_path / "rel" / "data" / "server.log").exists()


def test_an_unknown_test_server_stops_the_session_before_any_test() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/state/test_keys.py"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "AGENTSTATE_TEST_SERVER": "no-such-server"},
    )
    assert result.returncode == 4, result.stdout + result.stderr  # pytest's usage error
    assert "AGENTSTATE_TEST_SERVER=no-such-server" in result.stderr

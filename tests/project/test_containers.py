"""Runs against another Redis or Valkey version in a container are skipped, with a reason, without Docker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_container_image_without_a_docker_engine_skips_with_a_clear_reason() -> None:
    try:
        import docker

        docker.from_env().ping()
        pytest.skip(
            "a Docker engine is reachable here; the container path runs for real when AGENTSTATE_TEST_IMAGE is set"
        )
    except Exception:  # noqa: BLE001
        pass
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["AGENTSTATE_TEST_IMAGE"] = "valkey/valkey:8"
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests/project/test_smoke_harness.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed, 1 skipped" in result.stdout  # memory and file need no server; redis is skipped
    assert "needs a Docker engine" in result.stdout

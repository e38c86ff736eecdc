"""An ``agentstate`` command started as a real process, on a test server under a key prefix.

proc = start_agentstate(redis_url, prefix, "worker", "--team", "t", "--agent-id", "pod-1")
proc.send_signal(signal.SIGTERM)
dashboard = start_dashboard(redis_url, prefix, "--team", "alpha")
url = dashboard.stdout.readline().split()[2]
watch, notice = await start_watch(redis_url, prefix, "--count", "1")
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path


def start_agentstate(redis_url: str, prefix: str, *args: str) -> subprocess.Popen[str]:
    """``agentstate <args> --redis-url <redis_url> --prefix <prefix>``: stdout and stderr one text pipe, unbuffered."""
    cmd = [sys.executable, "-m", "agentstate_redis.cli", *args, "--redis-url", redis_url, "--prefix", prefix]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )


def start_dashboard(redis_url: str, prefix: str, *args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    """``agentstate dashboard --port 0 <args>`` (its first line on stdout names the URL it took);
    stdout and stderr apart, as text."""
    cmd = [sys.executable, "-m", "agentstate_redis.cli", "dashboard", "--port", "0", *args]
    return subprocess.Popen(
        [*cmd, "--redis-url", redis_url, "--prefix", prefix],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


async def start_watch(
    redis_url: str, prefix: str, *args: str, timeout: float = 30.0, cwd: Path | None = None
) -> tuple[asyncio.subprocess.Process, str]:
    """``agentstate watch <args>`` once it says ``# watching``: the process (its events on stdout) and the
    line it printed before that on stderr (the notice about the prefix)."""
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "agentstate_redis.cli", "watch", *args, "--redis-url", redis_url, "--prefix", prefix],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    notice = (await asyncio.wait_for(proc.stderr.readline(), timeout)).decode()
    assert (await asyncio.wait_for(proc.stderr.readline(), timeout)).startswith(b"# watching")
    return proc, notice

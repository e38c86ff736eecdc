"""An ``agentstate`` command started as a real process, on a test server under a key prefix.

proc = start_agentstate(redis_url, prefix, "worker", "--team", "t", "--agent-id", "pod-1")
proc.send_signal(signal.SIGTERM)
"""

from __future__ import annotations

import os
import subprocess
import sys


def start_agentstate(redis_url: str, prefix: str, *args: str) -> subprocess.Popen[str]:
    """``agentstate <args> --redis-url <redis_url> --prefix <prefix>``: stdout and stderr one text pipe, unbuffered."""
    cmd = [sys.executable, "-m", "agentstate_redis.cli", *args, "--redis-url", redis_url, "--prefix", prefix]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )

"""Every ``agentstate`` command answers each failure in one line and a non-zero exit, never a traceback.

Against a server the test starts (a password, and ACL users confined to other prefixes): an
unreachable server, a wrong URL scheme, a wrong password, an ACL refusal, and a key prefix with
nothing under it.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from agentstate_redis import EmbeddedRedis, RedisBackend, StateManager
from agentstate_redis.embedded import free_port

from ..acl_users import add_user
from ..agentstate_process import start_watch

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "admin-pw"

#: failure -> what its one line must say (case-insensitive regex)
EXPECTED = {
    "unreachable": "unreachable",
    "wrong scheme": "scheme must be one of",
    "wrong password": "refused the credentials",
    "ACL refusal": "acl",
}
#: command -> its arguments besides --redis-url (each would run on forever, or long, if it did not fail)
COMMANDS = {
    "health": ["health"],
    "inspect": ["inspect"],
    "inspect --json": ["inspect", "--json"],
    "watch": ["watch"],
    "queue pause": ["queue", "pause", "t1"],
    "worker": ["worker", "--agent-id", "w1"],
    "coordinator": ["coordinator", "--tasks", "10"],
    "demo": ["demo", "--no-live", "--workers", "2", "--tasks", "10"],
    "dashboard": ["dashboard", "--port", "0"],
}


@pytest.fixture(scope="module")
def guarded() -> Iterator[EmbeddedRedis]:
    """A server with a password, a tenant confined to ``tenant:*``, and a user without channels."""
    with EmbeddedRedis(password=PASSWORD, extra_args=["--acl-pubsub-default", "resetchannels"]) as server:
        admin = redis.Redis.from_url(server.url)
        commands = ["+@all", "-@dangerous", "+info"]
        add_user(admin, "tenant", keys=["tenant:*"], channels=["tenant:ev:*"], commands=commands)
        add_user(admin, "nochannels", keys=["*"], commands=commands)
        admin.close()
        yield server


def urls(server: EmbeddedRedis) -> dict[str, str]:
    here = f"127.0.0.1:{server.port}/0"
    return {
        "unreachable": f"redis://127.0.0.1:{free_port()}/0",
        "wrong scheme": f"http://{here}",
        "wrong password": f"redis://:not-the-password@{here}",
        "ACL refusal": f"redis://tenant:tenant-pw@{here}",
    }


async def agentstate(*args: str, timeout: float = 90) -> tuple[int, list[str]]:
    """Exit status and the non-empty lines of stdout and stderr together."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {"COLUMNS": "200"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agentstate_redis.cli",
        *args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"agentstate {' '.join(args)} did not exit within {timeout} s") from None
    lines = [line for line in (out + err).decode().splitlines() if line.strip()]
    assert proc.returncode is not None
    return proc.returncode, lines


@pytest.mark.parametrize("command", list(COMMANDS))
async def test_each_failure_is_one_line_and_a_nonzero_exit(guarded: EmbeddedRedis, command: str) -> None:
    cases = urls(guarded)
    results = await asyncio.gather(*(agentstate(*COMMANDS[command], "--redis-url", url) for url in cases.values()))
    for failure, (code, lines) in zip(cases, results):
        assert code != 0, f"{command} with {failure}: exit 0, {lines}"
        assert len(lines) == 1, f"{command} with {failure}: {len(lines)} lines:\n" + "\n".join(lines)
        assert re.search(EXPECTED[failure], lines[0], re.IGNORECASE), f"{command} with {failure}: {lines[0]}"
        assert "Traceback" not in lines[0] and PASSWORD not in lines[0] and "not-the-password" not in lines[0]


async def test_inspect_of_a_prefix_with_no_keys_names_the_prefixes_in_use(guarded: EmbeddedRedis, prefix: str) -> None:
    state = StateManager(backend=RedisBackend(guarded.url, key_prefix=prefix))
    await state.save("agent:1", {"n": 1})
    for args in (["inspect"], ["inspect", "--json"]):
        code, lines = await agentstate(*args, "--redis-url", guarded.url, "--prefix", "no-such-prefix:")
        assert code == 1 and len(lines) == 1, lines
        assert "no keys under prefix 'no-such-prefix:'" in lines[0] and repr(prefix) in lines[0]
    code, lines = await agentstate("inspect", "--redis-url", guarded.url, "--prefix", prefix)
    assert code == 0, lines
    await state.delete("agent:1")
    await state.close()


async def test_watch_refused_its_event_channels_says_so_in_one_line(guarded: EmbeddedRedis) -> None:
    url = f"redis://nochannels:nochannels-pw@127.0.0.1:{guarded.port}/0"
    code, lines = await agentstate("watch", "--redis-url", url, timeout=60)
    assert code == 1 and len(lines) == 1, lines
    assert "event channels 'agentstate:ev:{*'" in lines[0] and "&agentstate:ev:{*" in lines[0]


async def test_watch_of_an_empty_prefix_says_so_and_still_follows_it(guarded: EmbeddedRedis, prefix: str) -> None:
    """The prefix may be empty because the fleet has not started: one notice, then the events."""
    proc, notice = await start_watch(guarded.url, prefix, "--count", "1", timeout=60, cwd=ROOT)
    assert f"no keys under prefix {prefix!r}" in notice and "waiting for events anyway" in notice
    state = StateManager(backend=RedisBackend(guarded.url, key_prefix=prefix))
    await state.save("agent:late", {"n": 1})
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0 and b'"id":"agent:late"' in out
    await state.delete("agent:late")
    await state.close()


async def test_server_failures_are_one_line(tmp_path: Path) -> None:
    with EmbeddedRedis() as taken:
        code, lines = await agentstate("server", "--port", str(taken.port), "--data-dir", str(tmp_path / "d"))
    assert code == 1 and len(lines) == 1 and "already in use" in lines[0], lines
    (tmp_path / "a-file").write_text("")
    code, lines = await agentstate("server", "--port", str(free_port()), "--data-dir", str(tmp_path / "a-file" / "d"))
    assert code == 1 and len(lines) == 1 and "a-file" in lines[0], lines
    code, lines = await agentstate("server", "--port", "0")
    assert code == 1 and len(lines) == 1 and "--unix-socket" in lines[0], lines

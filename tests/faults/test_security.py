"""Security: per-tenant ACL users, TLS, passwords, no pickle, no user data in Lua text."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
import redis

import agentstate_redis
from agentstate_redis import AccessDeniedError, AgentStateError, EmbeddedRedis, RedisBackend, StateManager
from agentstate_redis.embedded import find_server_binary, free_port
from agentstate_redis.scripts import ScriptRunner

from ..acl_users import add_user
from ..tls_certs import make_certs

PACKAGE = Path(agentstate_redis.__file__).parent


def test_no_pickle_anywhere_in_the_package() -> None:
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] in ("pickle", "cPickle", "dill", "cloudpickle", "shelve") for n in names), (
                path
            )
            if isinstance(node, ast.Attribute):
                assert (
                    node.attr not in ("dump", "restore")
                    or not isinstance(node.value, ast.Name)
                    or node.value.id not in ("client", "redis")
                ), f"{path}: DUMP/RESTORE payloads are pickles in fakeredis"


def test_scripts_are_only_run_from_the_library() -> None:
    """The runner takes a script *name*; there is no way to hand it Lua text."""
    import inspect

    params = list(inspect.signature(ScriptRunner.run).parameters)
    assert params == ["self", "name", "keys", "args"]


async def test_lua_looking_values_are_stored_literally(state: StateManager) -> None:
    hostile = "'); redis.call('FLUSHALL'); --"
    await state.save(hostile, {hostile: hostile, "code": "return redis.call('KEYS', '*')"})
    assert await state.get(hostile) == {hostile: hostile, "code": "return redis.call('KEYS', '*')"}
    assert await state.list_keys() == [hostile]


@pytest.fixture
def acl_server() -> EmbeddedRedis:
    with EmbeddedRedis(extra_args=["--acl-pubsub-default", "resetchannels"]) as server:
        admin = redis.Redis.from_url(server.url, decode_responses=True)
        for tenant in ("tenant-a", "tenant-b"):
            add_user(admin, tenant, keys=[f"{tenant}:*"], channels=[f"{tenant}:ev:*", "__keyevent@*"])
        yield server


async def test_tenant_acl_user_works_in_its_prefix_and_is_refused_elsewhere(acl_server: EmbeddedRedis) -> None:
    base = f"127.0.0.1:{acl_server.port}/0"
    a = StateManager(backend=RedisBackend(f"redis://tenant-a:{quote('tenant-a-pw')}@{base}", key_prefix="tenant-a:"))
    seen: list[str] = []
    await a.subscribe("*", lambda key, old, new: seen.append(key))  # CONFIG is refused: expiry events off, writes ok
    assert a.backend.events.expiry_enabled is False
    await a.save("agent:1", {"n": 1})
    await a.update("agent:1", {"n": 2})
    assert await a.get("agent:1") == {"n": 2}
    assert await a.list_keys() == ["agent:1"]
    assert await a.delete("agent:1")

    # Redis says "this user has no permissions to access one of the keys", Valkey "No permissions to
    # access a key": our type and the keys it names, and the words both servers share.
    intruder = StateManager(
        backend=RedisBackend(f"redis://tenant-a:{quote('tenant-a-pw')}@{base}", key_prefix="tenant-b:")
    )
    with pytest.raises(AccessDeniedError, match=r"(?i)no permissions") as refused:
        await intruder.save("agent:1", {"stolen": True})
    assert refused.value.code == "NOPERM" and refused.value.keys[0].startswith("tenant-b:")  # type: ignore[attr-defined]
    with pytest.raises(AccessDeniedError, match=r"(?i)no permissions"):
        await intruder.get("agent:1")
    await intruder.backend.close()
    admin = redis.Redis.from_url(acl_server.url)
    assert list(admin.scan_iter(match="tenant-b:*")) == []
    admin.close()
    assert seen[:2] == ["agent:1", "agent:1"]
    await a.backend.close()


def _tls_supported(binary: str) -> bool:
    probe = subprocess.run(
        [binary, "--port", "0", "--tls-port", str(free_port())], capture_output=True, text=True, timeout=5
    )
    return "TLS support" not in (probe.stdout + probe.stderr) and "connection type tls" not in probe.stdout


async def test_rediss_with_a_generated_certificate(tmp_path: Path, prefix: str) -> None:
    binary = find_server_binary()
    certs = make_certs(tmp_path)
    port = free_port()
    args = [
        "--tls-port",
        str(port),
        "--tls-cert-file",
        str(certs["cert"]),
        "--tls-key-file",
        str(certs["key"]),
        "--tls-ca-cert-file",
        str(certs["ca"]),
        "--tls-auth-clients",
        "no",
    ]
    server = EmbeddedRedis(free_port(), extra_args=args, data_dir=tmp_path / "data")
    server._wait_ready = lambda timeout: _wait_tls(server, port, certs["ca"], timeout)  # type: ignore[method-assign]
    try:
        server.start()
    except AgentStateError as exc:
        if "TLS" in str(exc) or not _tls_supported(binary):
            pytest.skip(
                f"{binary} was built without TLS support (tests/backends/test_tls.py covers rediss:// through a proxy)"
            )
        raise
    try:
        url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={quote(str(certs['ca']))}"
        state = StateManager(backend=RedisBackend(url, key_prefix=prefix))
        await state.save("secure", {"tls": True})
        assert await state.get("secure") == {"tls": True}
        await state.backend.close()
        untrusted = StateManager(backend=RedisBackend(f"rediss://127.0.0.1:{port}/0", key_prefix=prefix))
        with pytest.raises(AgentStateError, match=r"(?i)certificate|ssl"):
            await untrusted.get("secure")
        await untrusted.backend.close()
    finally:
        server.cleanup()


def _wait_tls(server: EmbeddedRedis, port: int, ca: Path, timeout: float) -> None:
    import time

    deadline = time.monotonic() + timeout
    client = redis.Redis(port=port, ssl=True, ssl_ca_certs=str(ca), socket_connect_timeout=0.5)
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            raise AgentStateError(f"{server.binary} exited at start: {server._log_tail()}")
        try:
            if client.ping():
                return
        except redis.RedisError:
            time.sleep(0.05)
    raise AgentStateError("TLS server did not answer")

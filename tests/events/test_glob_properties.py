"""list_keys, subscribe, our glob and Redis's own glob agree on random ids and patterns.

Redis is the oracle: the same ids are also written as plain, un-encoded keys under a scratch
prefix, and ``SCAN MATCH <escaped scratch prefix><pattern>`` says which ids Redis's glob takes.
Ids and patterns are drawn from the characters that broke the old matching (``{ } %``, every glob
character, ``^ -`` and non-ASCII text of 2, 3 and 4 bytes).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agentstate_redis import RedisBackend, StateManager
from agentstate_redis.keys import escape_glob
from agentstate_redis.patterns import IdGlob

from ..waiting import eventually

ALPHABET = [*"ab{}%?*[]\\^-:", "é", "日", "😀"]
IDS = st.lists(st.text(ALPHABET, min_size=1, max_size=6), min_size=1, max_size=8, unique=True)
PATTERNS = st.lists(st.text(ALPHABET, min_size=1, max_size=7), min_size=1, max_size=4, unique=True)


async def redis_glob(client: aioredis.Redis, scratch: str, pattern: str) -> set[str]:
    """The ids Redis's own glob matches: SCAN MATCH over the raw (un-encoded) scratch keys."""
    found = set()
    async for key in client.scan_iter(match=escape_glob(scratch) + pattern, count=1000):
        found.add(key[len(scratch) :])
    return found


async def agree(redis_url: str, ids: list[str], patterns: list[str]) -> None:
    prefix = f"g{uuid.uuid4().hex[:8]}:"
    scratch = f"{prefix}raw:"
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    state = StateManager(backend=RedisBackend(redis_url, key_prefix=prefix))
    try:
        for ident in ids:
            await client.set(scratch + ident, 1)
            await state.save(ident, {"n": 0})
        subs, seen = {}, {}
        for pattern in patterns:
            seen[pattern] = []
            subs[pattern] = state.subscribe(pattern, lambda key, old, new, into=seen[pattern]: into.append(key))
        fence: list[str] = []
        await state.subscribe("*", lambda key, old, new: fence.append(key))
        for ident in ids:
            await state.update(ident, {"n": 1})
        await eventually(lambda: len(fence) == len(ids), what="every update on the '*' subscription")
        await eventually(lambda: all(sub.pending == 0 for sub in subs.values()), what="every queue drained")
        for pattern in patterns:
            oracle = await redis_glob(client, scratch, pattern)
            model = {i for i in ids if IdGlob(pattern).match(i)}
            listed = set(await state.list_keys(pattern))
            assert model == oracle, (pattern, "model vs Redis")
            assert listed == oracle, (pattern, "list_keys vs Redis")
            assert set(seen[pattern]) == oracle and len(seen[pattern]) == len(oracle), (pattern, "subscribe vs Redis")
    finally:
        async for key in client.scan_iter(match=escape_glob(prefix) + "*", count=1000):
            await client.delete(key)
        await client.aclose()
        await state.backend.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=IDS, patterns=PATTERNS)
@example(ids=["a{b", "a}b", "a%b", "a7b", "aBb"], patterns=["a?b", "a[{]b", "a%*", "a[%-}]b"])
@example(ids=["café", "cafe"], patterns=["caf?", "caf??", "caf[^a]*"])
@example(ids=["ab", "]", "]x", "a\\"], patterns=["a[^", "a[", "a[b", "a\\", "[a-]x", "**a", "a[b-a]", "a[]]b"])
def test_list_keys_subscribe_model_and_redis_agree(redis_url: str, ids: list[str], patterns: list[str]) -> None:
    asyncio.run(agree(redis_url, ids, patterns))


@pytest.mark.parametrize("pattern", ["é[\x80-\xbf]", "[\u00e0-\u00ff]*", "日?*", "[😀]*", "[^a]?"])
def test_ranges_over_non_ascii_bytes_compare_as_redis_does(redis_url: str, pattern: str) -> None:
    """Sets and ranges take single bytes, compared as C's signed char: non-ASCII bytes sort below
    ASCII ones, and a range over a character's code points is really a range over its bytes."""
    asyncio.run(agree(redis_url, ["é", "à", "ÿ", "日本", "😀", "ab", "a", "é?"], [pattern]))

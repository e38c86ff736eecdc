"""One glob for ids: Redis's, over the ids as the user wrote them (issue 17 §6).

The findings: ``list_keys`` disagreed with Redis's glob on 8 of 21 patterns (ids are
percent-encoded in keys and the pattern was not translated), ``subscribe`` on 6 (characters, not
bytes), two patterns raised a raw ``re.error`` and a lone surrogate a raw ``UnicodeEncodeError``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentstate_redis import InvalidInputError, OrchestrationStateManager, StateManager
from agentstate_redis.keys import Keys
from agentstate_redis.patterns import MAX_STAR_GROUPS, IdGlob

from ..waiting import eventually

IDS = ["a{b", "a}b", "a%b", "a7b", "aBb", "a?b", "a*b", "a[b", "a]b", "a\\b", "ab", "abb", "café", "cafe", "caf"]


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("a?b", {"a{b", "a}b", "a%b", "a7b", "aBb", "a?b", "a*b", "a[b", "a]b", "a\\b", "abb"}),
        ("a[{]b", {"a{b"}),
        ("a[%]b", {"a%b"}),
        ("a[{}%]b", {"a{b", "a}b", "a%b"}),
        ("a%b", {"a%b"}),
        ("a\\?b", {"a?b"}),
        ("a[b-a]b", {"abb"}),  # a reversed range is swapped, as Redis does: [a-b]
        ("a[]]b", set()),  # '[]' is an empty set: Redis matches nothing, and nothing is raised
        ("caf?", {"cafe"}),  # 'é' is two bytes: '?' matches one
        ("caf??", {"café"}),
        ("caf*", {"café", "cafe", "caf"}),
        ("a\\\\b", {"a\\b"}),
    ],
)
async def test_list_keys_and_subscribe_agree_with_redis_glob_on_the_findings_patterns(
    state: StateManager, pattern: str, expected: set[str]
) -> None:
    """The finding's patterns on ids with braces, percent signs, glob characters and non-ASCII text:
    list_keys and subscribe give the same ids, and they are the ones Redis's glob gives."""
    for ident in IDS:
        await state.save(ident, {"v": 1})
    assert set(await state.list_keys(pattern)) == expected
    seen: list[str] = []
    everything: list[str] = []
    await state.subscribe(pattern, lambda key, old, new: seen.append(key))
    await state.subscribe("*", lambda key, old, new: everything.append(key))
    for ident in IDS:
        await state.update(ident, {"v": 2})
    await eventually(lambda: len(everything) == len(IDS), what="every update on the '*' fence")
    await eventually(lambda: len(seen) == len(expected), what="the pattern's events")
    assert set(seen) == expected


@pytest.mark.parametrize("bad", ["a\ud800", "\udfff*", "x[\ud83d]"])
async def test_a_lone_surrogate_in_a_pattern_id_or_field_name_is_invalid_input(state: StateManager, bad: str) -> None:
    with pytest.raises(InvalidInputError, match="not valid Unicode"):
        await state.list_keys(bad)
    with pytest.raises(InvalidInputError, match="not valid Unicode"):
        state.subscribe(bad, lambda key, old, new: None)
    with pytest.raises(InvalidInputError, match="not valid Unicode"):
        await state.save(bad.replace("*", "").replace("[", "").replace("]", "") or "k", {})
    with pytest.raises(InvalidInputError, match="not valid Unicode"):
        await state.save("k", {bad: 1})
    assert await state.list_keys() == []


@pytest.mark.parametrize("bad", ["", None, 7, "*a" * (MAX_STAR_GROUPS + 1)])
async def test_empty_non_text_and_abusive_patterns_are_invalid_input(state: StateManager, bad: Any) -> None:
    """Redis itself never rejects a pattern; these are refused because they cannot be sent (not
    text), mean nothing useful (empty), or would make Redis's matcher silently give up (more than
    1000 separate '*' runs)."""
    with pytest.raises(InvalidInputError, match="pattern"):
        await state.list_keys(bad)
    with pytest.raises(InvalidInputError, match="pattern"):
        state.subscribe(bad, lambda key, old, new: None)


def test_the_scan_pattern_is_a_superset_narrowed_by_the_literal_head() -> None:
    keys = Keys("p*x:")
    assert keys.entity_pattern("state", "agent:[ab]*") == "p\\*x:{state:agent:*}"
    assert keys.entity_pattern("state", "a{b}?") == "p\\*x:{state:a%7Bb%7D*}"
    assert keys.entity_pattern("state", "lit\\*eral") == "p\\*x:{state:lit\\*eral*}"
    assert keys.entity_pattern("state", "*") == "p\\*x:{state:*}"
    assert IdGlob("é?").literal_prefix == "é"


async def test_unencodable_text_fails_only_its_own_call_not_a_shared_pipeline(redis_backend: Any) -> None:
    """A lone surrogate in any text argument is refused before sending. Before, redis-py failed to
    encode it while packing a pipelined batch, and every concurrent call in that batch got the
    raw UnicodeEncodeError too."""
    orch = OrchestrationStateManager(backend=redis_backend)
    await orch.create_team("t")
    calls = [
        orch.get_available_agents("t", "cap"),
        orch.get_available_agents("t", "a\ud800"),
        orch.get_available_agents("t", "cap"),
        orch.get_available_agents("t", "cap"),
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[1], InvalidInputError) and "not valid Unicode" in str(results[1])
    assert [r for i, r in enumerate(results) if i != 1] == [[], [], []]

"""The key schema: one hash tag per entity, ids that cannot break it, names that parse back."""

from __future__ import annotations

import pytest

from agentstate_redis import InvalidInputError
from agentstate_redis.keys import Keys, escape_id, unescape_id


def test_entity_keys_share_one_hash_tag() -> None:
    k = Keys("app:").team("research")
    assert k.base == "app:{team:research}"
    assert k("task:t1") == "app:{team:research}:task:t1"
    assert k.ops.startswith("app:{team:research}:")


@pytest.mark.parametrize("ident", ["a}:task:x", "{", "}", "a{b}c", "%7D", "100%", "*", "[x]", "ünï"])
def test_braces_and_percent_in_ids_are_escaped_and_parse_back(ident: str) -> None:
    keys = Keys("p:")
    k = keys.team(ident)
    assert k.base.count("{") == 1 and k.base.count("}") == 1  # the tag is exactly {team:<id>}
    assert keys.parse_base(k.base) == ("team", ident)
    assert keys.parse_entity(k("task:t")) == ("team", ident)
    assert unescape_id(escape_id(ident)) == ident


def test_one_entitys_key_never_equals_anothers_sub_key() -> None:
    keys = Keys("p:")
    assert keys.team("a}:task:x").base != keys.team("a")("task:x}")


@pytest.mark.parametrize("ident", ["a\nb", "\x00", "tab\there", "del\x7f"])
def test_control_characters_are_refused(ident: str) -> None:
    with pytest.raises(InvalidInputError, match="control character"):
        Keys().agent(ident)


def test_prefix_must_not_contain_braces() -> None:
    with pytest.raises(InvalidInputError, match="braces"):
        Keys("a{b}:")

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


@pytest.mark.parametrize("tool", ["search", "a}:cache:x", "{", "100%", "a:b"])
@pytest.mark.parametrize("params_hash", ["ab12", "x}y", "h:lock", "%7D", "{}"])
def test_tool_cache_entries_are_tool_sub_keys_whose_expiry_maps_to_toolcache(tool: str, params_hash: str) -> None:
    keys = Keys("p:")
    entry, lock = keys.tool_cache(tool, params_hash)
    assert entry.startswith(keys.tool(tool).base + ":") and lock.startswith(keys.tool(tool).base + ":")
    assert keys.parse_entity(entry) == keys.parse_entity(lock) == ("tool", tool)
    assert keys.parse_expired(entry) == ("toolcache", f"{tool}:{params_hash}")
    assert keys.parse_expired(lock) is None  # the compute lock's expiry is no cache event
    assert keys.parse_base(entry) is None
    assert lock not in {keys.tool_cache(tool, other)[0] for other in (params_hash, "lock", params_hash + ":lock")}


def test_parse_expired_keeps_base_keys_and_ignores_other_sub_keys() -> None:
    keys = Keys("p:")
    assert keys.parse_expired(keys.state("a:b").base) == ("state", "a:b")
    assert keys.parse_expired(keys.entity("toolexec", "e1").base) == ("toolexec", "e1")
    for other in (
        keys.tool("t")("stats"),
        keys.tool("t").ops,
        keys.agent("a")("cache:x"),
        "q:{tool:t}:cache:h",
        "p:{tool:t}:cache:",
        "p:{tool:t",
        "p:{tool:}:cache:h",
    ):
        assert keys.parse_expired(other) is None, other

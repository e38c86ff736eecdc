"""The entity-layout convention (docs/internals.md), checked on the tree: every layout declared in
Python is mirrored by one ``K`` table in its Lua library, and every script of a layout takes exactly
its KEYS, in its order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentstate_redis import KnowledgeStateManager, SpeechStateManager, StateManager, WorkflowStateManager
from agentstate_redis.agents.base import AgentBase
from agentstate_redis.manager import BaseManager, Layout
from agentstate_redis.scripts import ScriptLibrary
from agentstate_redis.tools.layouts import LINKS, RETRIES, TOOL

LUA = Path(__file__).resolve().parents[2] / "lua"
_INCLUDE = re.compile(r"^--@include\s+lib/(\S+)\.lua\s*$", re.M)
_K_ENTRY = re.compile(r"(\w+)\s*=\s*KEYS\[(\d+)\]")


def _of(manager: type[BaseManager]) -> Layout:
    assert manager.layout is not None, manager
    return manager.layout


#: layout -> the library that mirrors it (lua/lib/<name>.lua).
MIRRORS: dict[Layout, str] = {
    _of(StateManager): "state",
    TOOL: "tools",
    LINKS: "tool_links",
    RETRIES: "tool_retries",
    _of(SpeechStateManager): "speech",
    _of(KnowledgeStateManager): "knowledge",
    _of(WorkflowStateManager): "workflows",
    _of(AgentBase): "agents",
}
#: Script folders whose every script is on one of these layouts (the others still hold a few
#: scripts of another entity, such as the agents' cross-agent index).
WHOLE = {
    "state": [_of(StateManager)],
    "tools": [TOOL, LINKS, RETRIES],
    "speech": [_of(SpeechStateManager)],
    "knowledge": [_of(KnowledgeStateManager)],
}


def _includes(name: str, seen: set[str] | None = None) -> set[str]:
    """The libraries a file (``"tools/start"`` or ``"lib/tools"``) pastes in, directly or not."""
    seen = set() if seen is None else seen
    for lib in _INCLUDE.findall((LUA / f"{name}.lua").read_text()):
        if lib not in seen:
            seen.add(lib)
            _includes(f"lib/{lib}", seen)
    return seen


@pytest.mark.parametrize("layout", list(MIRRORS), ids=[f"{lay.kind}:{MIRRORS[lay]}" for lay in MIRRORS])
def test_each_layout_is_mirrored_by_one_k_table(layout: Layout) -> None:
    text = (LUA / "lib" / f"{MIRRORS[layout]}.lua").read_text()
    assert text.count("local K = {") == 1
    table = text[text.index("local K = {") : text.index("}", text.index("local K = {"))]
    entries = _K_ENTRY.findall(table)
    assert [int(n) for _, n in entries] == list(range(1, layout.size + 1))
    assert [name for name, _ in entries][:3] in (["base", "ops", "ops_prev"], ["meta", "ops", "ops_prev"])


def test_every_script_of_a_layout_takes_its_keys() -> None:
    library = ScriptLibrary(LUA)
    by_lib = {lib: layout for layout, lib in MIRRORS.items()}
    checked = 0
    for name, script in library.scripts.items():
        mirrored = [by_lib[lib] for lib in _includes(name) if lib in by_lib]
        assert len(mirrored) <= 1, f"{name} pastes the K tables of {len(mirrored)} layouts"
        folder = name.split("/")[0]
        if mirrored:
            assert len(script.keys) == mirrored[0].size, (
                f"{name}: {len(script.keys)} KEYS, its layout has {mirrored[0].size}"
            )
            assert mirrored[0].scripts == folder, name
            checked += 1
        elif folder in WHOLE:  # a hot read that pastes no library: still its layout's KEYS
            sizes = [layout.size for layout in WHOLE[folder]]
            assert len(script.keys) in sizes, f"{name}: {len(script.keys)} KEYS, no layout of {folder} has that"
            checked += 1
        if folder in WHOLE:
            assert script.keys[1:3] in (
                ["ops hash (current generation)", "ops of the previous generation"],
                ["ops hash (current generation)", "ops of the previous generation (hash)"],
            ), f"{name}: KEYS[2], KEYS[3] are the op-id generations in every layout"
    assert checked > 60


def test_python_builds_each_layouts_keys_once() -> None:
    from agentstate_redis.tools import ToolStateManager

    tools = ToolStateManager(persistence="memory")
    for layout, ident in ((TOOL, "search_web"), (LINKS, "exec-1"), (RETRIES, "tool-retries")):
        keys = tools._keys_on(layout, ident)
        assert len(keys) == layout.size and keys[0] == tools.keys.entity(layout.kind, ident).base
        assert keys[1:3] == (tools.keys.entity(layout.kind, ident).ops, tools.keys.entity(layout.kind, ident).ops_prev)
        assert tools._keys_on(layout, ident) is keys  # built once


def test_built_keys_are_bounded_and_only_valid_ids_are_kept() -> None:
    from agentstate_redis.errors import InvalidInputError
    from agentstate_redis.manager import KEY_LISTS_KEPT

    state = StateManager(persistence="memory")
    layout = _of(StateManager)
    for i in range(KEY_LISTS_KEPT + 10):
        state._entity_keys(f"k{i}")
        assert len(state._key_lists[layout]) <= KEY_LISTS_KEPT
    assert state._entity_keys("k1") == (
        state.keys.state("k1").base,
        state.keys.state("k1").ops,
        state.keys.state("k1").ops_prev,
        state.keys.state("k1")("tomb"),
    )
    for bad in ("", "x" * 2000, "a\nb", 7, None):
        with pytest.raises(InvalidInputError, match="state id"):
            state._entity_keys(bad)  # type: ignore[arg-type]  # the check under test
    assert "" not in state._key_lists[layout] and len(state._key_lists[layout]) <= KEY_LISTS_KEPT

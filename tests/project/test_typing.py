"""Downstream type checking: a user's code that type-checks against the installed package (PEP 561's
py.typed marker), under ``mypy --strict``, sees the public API's own types, not ``Any``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("mypy")
pytestmark = pytest.mark.slow

USER_CODE = textwrap.dedent("""
    from typing import Any

    from typing_extensions import assert_type

    from agentstate_redis import StateEntry, StateManager, VersionConflictError


    async def main() -> None:
        state = StateManager(persistence="memory")
        entry = await state.get_entry("k")
        assert_type(entry, StateEntry | None)
        assert_type(await state.get("k"), dict[str, Any] | None)
        assert_type(await state.get_version("k"), int)
        assert_type(await state.list_keys(), list[str])
        try:
            await state.delete("k", expected_version=2)
        except VersionConflictError as exc:
            assert_type(exc, VersionConflictError)
        async with StateManager(persistence="memory") as managed:
            assert_type(managed, StateManager)
""")


def test_user_code_type_checks_strictly_against_the_public_api(tmp_path: Path) -> None:
    user = tmp_path / "user.py"
    user.write_text(USER_CODE)
    # run from tmp_path with no config, as a downstream project would; the package comes from site-packages
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--config-file", "/dev/null", str(user)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr

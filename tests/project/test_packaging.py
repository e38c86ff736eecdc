"""The built wheel carries the Lua scripts and the py.typed marker, and works from a fresh virtualenv."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from agentstate_redis.scripts import ScriptLibrary

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

CHECK = """
import asyncio, sys, agentstate_redis
from agentstate_redis import StateManager, StateConfig
from agentstate_redis.scripts import ScriptLibrary
lib = ScriptLibrary.default()
assert str(lib.root).startswith(sys.prefix), lib.root
assert agentstate_redis.__file__.startswith(sys.prefix), agentstate_redis.__file__
async def main():
    state = StateManager(config=StateConfig(backend="redis", redis_url=sys.argv[1], key_prefix=sys.argv[2]))
    await state.save("wheel", {"ok": True})
    print(await state.get("wheel"), len(lib.scripts))
    await state.close()
asyncio.run(main())
"""


def test_wheel_contains_lua_and_runs_in_a_fresh_virtualenv(tmp_path: Path, redis_url: str, prefix: str) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = list(dist.glob("agentstate_redis-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    lua = sorted(n for n in names if n.endswith(".lua"))
    repo_lua = sorted(p.relative_to(ROOT / "lua").as_posix() for p in (ROOT / "lua").rglob("*.lua"))
    assert lua == [f"agentstate_redis/lua/{p}" for p in repo_lua]
    # PEP 561: without the marker, type checkers ignore the package's annotations downstream
    assert "agentstate_redis/py.typed" in names

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    # Dependencies come from this environment's site-packages; the package itself only from the wheel.
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    result = subprocess.run(
        [str(python), "-c", CHECK, redis_url, prefix], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0:2] == ["{'ok':", "True}"]
    assert int(result.stdout.split()[-1]) == len(ScriptLibrary(ROOT / "lua").scripts)

"""The README stays true: its Python blocks run, its commands are the ones CI and newcomers run."""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from agentstate_redis import EmbeddedRedis

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    first, second = _blocks("bash")[:2]
    assert first.strip().endswith("agentstate demo")
    assert second.strip().endswith("pytest")
    assert README.index(first) < README.index("## What it is")
    # CI's first test run is the README's test command, exactly (after the gates: lint and types); the
    # other servers and the docs come after it
    steps = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.startswith("step ")]
    first_run = next(i for i, step in enumerate(steps) if "pytest" in step)
    assert f'"{second.strip()}"' in steps[first_run], steps[first_run]
    gates = " ".join(steps[:first_run])
    assert "ruff check" in gates and "ruff format --check" in gates and "mypy" in gates, gates


async def test_every_python_block_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _blocks("python")
    assert len(blocks) >= 6
    with EmbeddedRedis() as server:
        monkeypatch.setenv("REDIS_URL", server.url)
        namespace: dict[str, object] = {}
        for block in blocks:
            code = compile(block, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            if code.co_flags & inspect.CO_COROUTINE:
                await eval(code, namespace)  # noqa: S307 - our own README
            else:  # a block without await is sync code (agentstate_redis.sync): run it as such, outside the loop
                await asyncio.to_thread(exec, code, namespace)


@pytest.mark.slow
def test_the_first_command_works_in_a_fresh_checkout(tmp_path: Path) -> None:
    """The README's first command, exactly, in a copy of the repository with no virtualenv."""
    checkout = tmp_path / "checkout"
    shutil.copytree(
        ROOT,
        checkout,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "__pycache__", "*.egg-info", ".pytest_cache", ".hypothesis", "bench"
        ),
    )
    command = _blocks("bash")[0].strip().replace("agentstate demo", "agentstate demo --workers 2 --tasks 30 --no-live")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "VIRTUAL_ENV")}
    result = subprocess.run(["bash", "-c", command], cwd=checkout, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "all invariants held" in result.stdout

"""The version is written once (agentstate_redis/__init__.py); everything that repeats it must agree."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import agentstate_redis

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_metadata_reads_the_version_from_the_package() -> None:
    assert importlib.metadata.version("agentstate-redis") == agentstate_redis.__version__
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and not re.search(r"^version\s*=", pyproject, re.M)


def test_image_tags_and_the_changelog_name_the_same_version() -> None:
    version = agentstate_redis.__version__
    tags = set()
    for path in [
        ROOT / "README.md",
        *sorted((ROOT / "deploy").rglob("*")),
    ]:
        if (path.is_file() and path.suffix in ("", ".md", ".yaml", ".yml")) or path.name == "Dockerfile":
            text = path.read_text(errors="replace")
            tags |= set(re.findall(r"agentstate-redis:(\d+\.\d+\.\d+\S*?)\b[\s`]", text))
            tags |= set(re.findall(r"newTag:\s*(\S+)", text))
    assert tags == {version}, f"image tags {tags} differ from __version__ {version}"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and f"## [{version}]" in changelog

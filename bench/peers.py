"""The peers' virtualenv (bench/.peers/venv, gitignored): created on demand from peers-requirements.txt.

The peer libraries are never imported by the bench process itself; their code runs in
subprocesses with that venv's python (``bench/peer_*.py`` scripts that print JSON).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEERS_DIR = HERE / ".peers"
VENV = PEERS_DIR / "venv"
REQUIREMENTS = HERE / "peers-requirements.txt"


def _python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _stamp() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]


def ensure_peers(log: Any = print) -> str | None:
    """Path of the peers' python, creating/updating the venv if needed; None (with a note) if that fails."""
    py = _python()
    stamp_file = PEERS_DIR / "installed.stamp"
    if py.exists() and stamp_file.exists() and stamp_file.read_text().strip() == _stamp():
        return str(py)
    PEERS_DIR.mkdir(exist_ok=True)
    log(f"creating the peers virtualenv in {VENV} (one time; needs PyPI) ...")
    try:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        err = getattr(exc, "stderr", b"") or b""
        log(f"peers virtualenv unavailable: {exc} {err.decode(errors='replace')[-500:]}")
        return None
    stamp_file.write_text(_stamp())
    return str(py)


def versions(python: str) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json; print(json.dumps({n: m.version(n) for n in "
        "['agenticaiframework', 'bullmq', 'saq', 'redis', 'hiredis']}))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def run_script(python: str, script: str, args: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    """Run ``bench/<script>`` with the peers' python, passing ``args`` as JSON; returns its JSON output."""
    proc = subprocess.run(
        [python, str(HERE / script), json.dumps(args)], capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{script} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])

"""Lint, formatting, types and the hexagon's import contracts run as part of the test command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = BIN / name
    return str(found) if found.exists() else (shutil.which(name) or name)


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["lint-imports"],  # autorelay_core imports no adapter, composition, framework or driver
        # Types: strict on the core; the [tool.mypy] configuration on adapters and composition.
        ["mypy", "--strict", "--cache-dir", ".mypy_cache/core", "autorelay_core"],
        ["mypy", "--cache-dir", ".mypy_cache/edges", "adapters", "composition"],
    ],
    ids=["ruff-check", "ruff-format", "import-linter", "mypy-core-strict", "mypy-adapters"],
)
def test_tool_passes(command):
    run = subprocess.run([tool(command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]

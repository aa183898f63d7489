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


def test_no_import_cycles():
    """No module imports itself through others (a cycle makes a room that cannot be read, or
    tested, apart from the rest). Tarjan's strongly connected components over grimp's graph, the
    one import-linter builds."""
    import grimp

    packages = ("autorelay_core", "adapters", "composition")
    graph = grimp.build_graph(*packages)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if not imported.startswith(packages):
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while (member := stack.pop()) != module:
                component.append(member)
            if component:
                cycles.append(sorted([module, *component]))

    for module in sorted(m for m in graph.modules if m.startswith(packages)):
        if module not in index:
            visit(module)
    assert cycles == [], cycles

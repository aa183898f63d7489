"""The systemd unit pair in deploy/systemd passes `systemd-analyze verify` with nothing to say (no
unknown keys, no bad values, executables that exist), pointed at this checkout's virtualenv. There
is no container image: this machine has no container runtime to build and smoke-test one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
VERIFY = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(VERIFY is None, reason="no systemd-analyze")


def verify(paths: list[Path]) -> str:
    done = subprocess.run([VERIFY, "verify", *map(str, paths)], capture_output=True, text=True, timeout=60)
    return (done.stdout + done.stderr).strip() + ("" if done.returncode == 0 else f"\n(exit {done.returncode})")


def test_the_units_verify_cleanly(tmp_path):
    venv = Path(sys.executable).parent.parent
    placed = []
    for unit in sorted(UNITS.glob("*.service")):
        target = tmp_path / unit.name
        target.write_text(unit.read_text().replace("/opt/autorelay/.venv", str(venv)))
        placed.append(target)
    assert [p.name for p in placed] == ["autorelay-worker.service", "autorelay.service"]
    assert verify(placed) == ""
    text = (UNITS / "autorelay-worker.service").read_text()
    assert "KillSignal=SIGINT" in text and "autorelay worker" in text


def test_the_check_would_see_a_mistake(tmp_path):
    broken = tmp_path / "broken.service"
    broken.write_text("[Service]\nExecStart=/bin/true\nRestartt=always\n")
    assert "Unknown key" in verify([broken])

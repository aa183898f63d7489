"""The embedding examples run as a reader would run them (`python examples/NAME.py` from the
repository), and print what their docstrings promise."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(name: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env = {k: v for k, v in env.items() if not k.startswith("AUTORELAY_")}  # the examples' own settings only
    done = subprocess.run(
        [sys.executable, f"examples/{name}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_in_memory_send():
    out = run("send_in_memory.py")
    assert re.search(r"^em_\w+: sent; the message is em_\w+\.eml, \d+ bytes$", out, re.M), out
    assert "Subject: Welcome, Ann" in out


def test_sqlite_with_a_custom_mailer():
    out = run("sqlite_custom_mailer.py")
    assert "posted: to ann@example.com: Deployed api 2.4.1" in out
    assert "posted: to bob@example.com: Deployed api 2.4.1" in out
    assert re.search(r"2 posted; batch batch_\w+: \['sent', 'sent'\]", out), out


def test_the_rate_limiter_in_a_plain_starlette_app():
    lines = run("rate_limit_starlette.py").splitlines()
    assert [line.split()[1] for line in lines] == ["200", "200", "200", "429"], lines
    assert lines[-1].endswith(" 60") and "3/min per ip" in lines[-1]


@pytest.mark.parametrize("path", sorted(p.name for p in (ROOT / "examples").glob("*.py")))
def test_every_example_has_a_test(path):
    assert f'"{path}"' in Path(__file__).read_text(), f"examples/{path} is not run by this file"

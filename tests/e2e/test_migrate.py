"""`autorelay migrate` brings whichever database the settings name to the newest schema, any number
of times and from several processes at once."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.server import autorelay, cli_env

pytestmark = pytest.mark.e2e


def test_migrate_is_repeatable_and_safe_to_run_concurrently(tmp_path):
    def migrate() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "composition.cli", "migrate"],
            env=cli_env(tmp_path / "db"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    with ThreadPoolExecutor(3) as pool:
        outputs = list(pool.map(lambda _: migrate(), range(3)))
    versions = {re.search(r"schema at version (\d+)", out).group(1) for out in outputs}
    assert len(versions) == 1 and int(versions.pop()) >= 2
    assert autorelay(tmp_path / "db", "migrate") == outputs[0]
    # The schema is usable: a project can be created on it.
    assert "acme" in autorelay(tmp_path / "db", "projects", "create", "acme")

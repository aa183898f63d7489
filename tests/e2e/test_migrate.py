"""`autorelay migrate` brings whichever database the settings name to the newest schema, any number
of times and from several processes at once."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests import backends
from tests.e2e.server import autorelay, cli_env

pytestmark = pytest.mark.e2e


def test_migrate_is_repeatable_and_safe_to_run_concurrently(tmp_path):
    def migrate() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "composition.cli", "migrate", "--create"],  # a new install's first migrate
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


@pytest.mark.skipif(
    backends.PROFILE == "postgres", reason="the data dir holds the data only in the embedded profile (SQLite)"
)
def test_an_operator_command_in_the_wrong_folder_creates_nothing(tmp_path):
    """Run from another folder, a command says where it looked instead of starting an empty data
    dir; --data-dir (before or after the subcommand) finds the real one."""
    real = tmp_path / "real"
    subprocess.run(
        [sys.executable, "-m", "composition.cli", "migrate", "--create"], env=cli_env(real), check=True, timeout=60
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in cli_env(real).items() if k != "AUTORELAY_DATA_DIR"}
    for command in (["projects", "list"], ["keys", "list"], ["migrate"]):
        done = subprocess.run(
            [sys.executable, "-m", "composition.cli", *command],
            env=env, cwd=elsewhere, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 2 and "no AutoRelay data at" in done.stderr, (command, done.stderr)
        assert str(elsewhere / "autorelay-data") in done.stderr and "--create" in done.stderr
    assert list(elsewhere.iterdir()) == [], "nothing was created"
    for placed in (
        ["--data-dir", str(real), "projects", "create", "acme"],
        ["projects", "list", "--data-dir", str(real)],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "composition.cli", *placed],
            env=env, cwd=elsewhere, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0 and "acme" in done.stdout, done.stderr

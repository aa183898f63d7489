"""Schemathesis drives the live server from openapi.yaml: every check, zero failures, and the
server log must show no unhandled error afterwards (also for the deliveries it triggered)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import backends
from tests.e2e.server import Server

# Once, on the embedded profile: the HTTP layer it fuzzes is the same on both, the stores' answers
# to the same calls are held alike by the contract suites over every store (NUL and all), and on CI
# a second run cost two of its minutes.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(backends.PROFILE == "postgres", reason="fuzzed once, on the embedded profile"),
]
ROOT = Path(__file__).resolve().parents[2]


def test_schemathesis_finds_no_failure(tmp_path):
    server = Server(tmp_path / "fuzz").start()
    try:
        env = dict(os.environ, SCHEMATHESIS_HOOKS="tests.e2e.schemathesis_hooks", PYTHONPATH=str(ROOT))
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(ROOT / "tests" / "e2e" / "schemathesis.toml"),
                "run",
                f"{server.base}/api/v1/openapi.yaml",
                "--header",
                # A test key: it may send from any domain, as generated addresses need.
                f"Authorization: Bearer {server.keys['test']}",
                "--checks",
                "all",
                "--max-examples",
                os.environ.get("AUTORELAY_FUZZ_EXAMPLES", "40"),
                "--workers",
                "1",
                "--seed",
                os.environ.get("AUTORELAY_FUZZ_SEED", "20261126"),
                "--generation-database",
                "none",
                "--no-color",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            cwd=ROOT,
        )
        assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-2000:]
        time.sleep(1)  # let the deliveries it caused finish
        log = server.log.read_text()
        assert "Traceback" not in log, log[-4000:]
    finally:
        server.stop()

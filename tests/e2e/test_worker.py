"""`serve` with no in-process consumer plus a separate `autorelay worker` process: the worker
delivers what the API accepted, and stops cleanly on SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.e2e.server import Server, cli_env, wait_for

pytestmark = pytest.mark.e2e


def test_a_separate_worker_delivers(tmp_path):
    server = Server(tmp_path / "split", {"AUTORELAY_EMBEDDED_WORKERS": "0"}).start()
    worker = None
    try:
        with server.client(server.keys["live"]) as client:
            body = {"to": "w@example.com", "from": "w@work.test", "subject": "via worker", "html": "<p>w</p>"}
            ids = [client.post("/emails", json=body).json()["id"] for _ in range(5)]
            queued = client.get("/emails", params={"status": "queued"}).json()["total"]
            assert queued == 5, "nothing in serve itself should deliver"
            log = (tmp_path / "worker.log").open("wb")
            worker = subprocess.Popen(
                [sys.executable, "-m", "composition.cli", "worker"],
                env=cli_env(server.data_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            assert wait_for(lambda: client.get("/emails", params={"status": "sent"}).json()["total"] == 5, 15)
        assert sorted(p.stem for p in (server.data_dir / "mail").glob("*.eml")) == sorted(ids)
        worker.send_signal(signal.SIGINT)
        assert worker.wait(20) == 0
    finally:
        if worker and worker.poll() is None:
            worker.kill()
        server.stop()

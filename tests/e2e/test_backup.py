"""A backup taken while 200 sends are in flight, restored into a new data dir: every email the API
had accepted before the backup began is there, with the same secret, and a server started on it
delivers what was still queued."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from tests import backends
from tests.e2e.server import Server, autorelay, cli_env, wait_for

# Backups of the embedded profile; PostgreSQL installs use pg_dump (the README says how).
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(backends.PROFILE == "postgres", reason="the embedded profile's backup (PostgreSQL: pg_dump)"),
]


def test_an_online_backup_restores_into_a_server_that_delivers_what_was_queued(tmp_path):
    # Deliveries off in the first server: whatever it accepted stays queued, for the restored one.
    server = Server(tmp_path / "live", {"AUTORELAY_EMBEDDED_WORKERS": "0"}).start()
    accepted: list[tuple[float, str]] = []
    body = {"from": "news@acme.test", "subject": "Backed up", "html": "<p>kept</p>"}

    def send(offset: int) -> None:
        with httpx.Client(
            base_url=f"{server.base}/api/v1", headers={"Authorization": f"Bearer {server.keys['live']}"}
        ) as api:
            for n in range(offset, offset + 50):
                answer = api.post("/emails", json=body | {"to": f"r{n}@example.com"})
                assert answer.status_code == 200, answer.text
                accepted.append((time.monotonic(), answer.json()["id"]))

    try:
        senders = [threading.Thread(target=send, args=(n * 50,)) for n in range(4)]
        for thread in senders:
            thread.start()
        assert wait_for(lambda: len(accepted) >= 40, 20), "the sends did not start"
        began = time.monotonic()
        out = autorelay(server.data_dir, "backup", str(tmp_path / "backup"))
        for thread in senders:
            thread.join()
    finally:
        server.stop()
    before = {email_id for at, email_id in accepted if at < began}
    assert len(accepted) == 200 and 40 <= len(before) < 200, (len(before), out)
    manifest = json.loads((tmp_path / "backup" / "autorelay-backup.json").read_text())
    assert manifest["secret"] is True and (tmp_path / "backup" / "secret.key").stat().st_mode & 0o777 == 0o600

    restored = tmp_path / "restored"
    autorelay(restored, "restore", str(tmp_path / "backup"))
    assert (restored / "secret.key").read_bytes() == (server.data_dir / "secret.key").read_bytes()
    again = Server(restored).start(lift=False)
    try:
        with httpx.Client(
            base_url=f"{again.base}/api/v1", headers={"Authorization": f"Bearer {server.keys['live']}"}
        ) as api:

            def delivered() -> bool:
                return all(api.get(f"/emails/{i}").json().get("email", {}).get("status") == "sent" for i in before)

            assert wait_for(delivered, 60), "the restored server did not deliver what was queued"
        assert all((restored / "mail" / f"{i}.eml").exists() for i in before)
    finally:
        again.stop()


def test_backup_refuses_what_it_cannot_do(tmp_path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "something").write_text("x")
    autorelay(tmp_path / "data", "migrate", "--create")
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "composition.cli", "backup", str(used)],
        env=cli_env(tmp_path / "data"), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "not empty" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "composition.cli", "restore", str(used)],
        env=cli_env(tmp_path / "fresh"), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "not an AutoRelay backup" in done.stderr

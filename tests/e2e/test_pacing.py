"""Pacing across processes, for real: `serve` only accepts, two `autorelay worker` processes
deliver, and gmail paced with `autorelay pacing set` is never sent faster than its pace by the two
together, while example.org's mail goes at once. /stats shows a warm-up."""

from __future__ import annotations

import time

import pytest

from tests.e2e.server import Server, Worker, autorelay, journal, wait_for

pytestmark = pytest.mark.e2e

GMAIL, OTHERS = 150, 150


def test_two_workers_together_keep_a_destinations_pace(tmp_path):
    server = Server(tmp_path / "paced", {"AUTORELAY_EMBEDDED_WORKERS": "0"}).start()
    workers: list[Worker] = []
    try:
        # 600 a minute: at most 60 in any 6 seconds (the pace's window), for both workers together.
        autorelay(server.data_dir, "pacing", "set", "gmail", "600/min")
        autorelay(server.data_dir, "warmup", "set", "work.test", "--daily", "5000,10000")
        to = {}
        with server.client(server.keys["live"]) as client:
            for n in range(GMAIL + OTHERS):
                address = f"user{n}@googlemail.com" if n % 2 else f"user{n}@example.org"
                body = {"to": address, "from": "News <news@work.test>", "subject": "paced", "html": "<p>p</p>"}
                response = client.post("/emails", json=body)
                assert response.status_code == 200, response.text
                to[response.json()["id"]] = address.rpartition("@")[2]
            started = time.time()
            # One consumer thread each: a pass goes on until nothing is due and asks for one helper
            # pass, which Redis hands to the longest-waiting consumer; with eight threads each, the
            # first worker's threads waited longest and could drain the whole backlog alone.
            workers = [Worker(server.data_dir, {"AUTORELAY_WORKER_THREADS": "1"}).start() for _ in range(2)]
            assert wait_for(lambda: len(journal(server.data_dir)) == GMAIL + OTHERS, 60), len(journal(server.data_dir))
            stats = client.get("/stats").json()

        mail = server.data_dir / "mail"
        written = {path.stem: path.stat().st_mtime for path in mail.glob("*.eml")}
        gmail = [t - started for email_id, t in written.items() if to[email_id] == "googlemail.com"]
        others = [t - started for email_id, t in written.items() if to[email_id] == "example.org"]
        assert len(gmail) == GMAIL and len(others) == OTHERS
        # 60 per 6 s for both workers together: the (60k+1)-th gmail message goes 6k s after the first
        # at the earliest (two paces of their own would send 120 at once). A file is written a moment
        # after its send was admitted, and on a loaded machine that moment varies: 1.5 s of slack.
        gmail.sort()
        for k in (1, 2):
            assert gmail[60 * k] - gmail[0] >= 6 * k - 1.5, (k, gmail)
        assert max(gmail) - min(gmail) >= 10.5  # 150 at 60 per 6 s: three windows, two of them waited for
        assert max(others) - min(others) < 6, "example.org was held back by gmail's pace"
        writers = {pid for email_id, pid in journal(server.data_dir) if to[email_id] == "googlemail.com"}
        assert len(writers) == 2, "both workers should have sent gmail's share"
        assert stats["warmup"] == [
            {"domain": "work.test", "day": 1, "days": 2, "todayLimit": 5000, "sentLast24h": GMAIL + OTHERS}
        ]
    finally:
        for worker in workers:
            worker.stop()
        server.stop()

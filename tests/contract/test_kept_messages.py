"""Copies of the messages that left (the dashboard's download), on a real folder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.mailers.kept import KeptMessages
from tests.contract.test_storage import new_email


def test_copies_are_kept_for_their_days_never_for_one_time_codes(tmp_path):
    kept = KeptMessages(tmp_path / "messages", days=2)
    email = new_email(id="em_kept")
    kept.keep(email, b"Subject: kept\r\n\r\nbody")
    assert kept.get("em_kept") == b"Subject: kept\r\n\r\nbody"
    kept.keep(new_email(id="em_code", sealed=True), b"Your code is 123456")
    assert kept.get("em_code") is None, "nothing stored may reveal a live code"
    assert kept.get("../secret") is None
    today = datetime.now(UTC).date()
    for back in (3, 5):
        old = tmp_path / "messages" / (today - timedelta(days=back)).isoformat()
        old.mkdir()
        (old / "em_old.eml").write_bytes(b"old")
    assert kept.prune() == 2 and kept.get("em_kept") is not None
    none = KeptMessages(tmp_path / "none", days=0)
    none.keep(email, b"x")
    none.flush()
    assert not (tmp_path / "none").exists()


def test_copies_from_several_processes_and_the_older_layout_are_all_found(tmp_path):
    folder = tmp_path / "messages"
    server, worker = KeptMessages(folder, days=2), KeptMessages(folder, days=2)
    sent = {f"em_{n}": f"Subject: {n}\r\n\r\n".encode() + bytes([n % 256]) * n for n in range(1, 400)}
    for email_id, raw in sent.items():
        worker.keep(new_email(id=email_id), raw)
    worker.flush()
    assert all(server.get(email_id) == raw for email_id, raw in sent.items()), "the server reads the worker's"
    day = folder / datetime.now(UTC).date().isoformat()
    (day / "em_before.eml").write_bytes(b"Subject: one file a message\r\n\r\n")
    assert server.get("em_before") == b"Subject: one file a message\r\n\r\n"
    worker.keep(new_email(id="em_later"), b"later")
    worker.flush()
    assert server.get("em_later") == b"later", "an index read before is read on from where it stopped"
    assert server.get("em_nowhere") is None

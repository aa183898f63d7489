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

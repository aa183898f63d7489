"""Copies of the exact messages that left, for the dashboard's download: the bytes each mailer
handed over (SMTP: after DKIM signing, as the server received them; SES: the raw message), one file
per email in a folder per day, readable by the owner only, kept `days` days.

One-time-code emails are never kept: nothing stored may reveal a live code. In a fleet each worker
keeps what it sent on its own disk; point AUTORELAY_DATA_DIR's `messages/` at a shared volume for the
dashboard to find every message.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from autorelay_core.domain.emails import Email


class KeptMessages:
    def __init__(self, directory: str | Path, days: int) -> None:
        self.directory = Path(directory)
        self.days = days

    def keep(self, email: Email, raw: bytes) -> None:
        """Called by a mailer once the message has left; never raises (a copy is a convenience)."""
        if self.days <= 0 or email.sealed:
            return
        folder = self.directory / datetime.now(UTC).strftime("%Y-%m-%d")
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(folder / f"{email.id}.eml", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(raw)
        except OSError:
            return

    def get(self, email_id: str) -> bytes | None:
        if not email_id.isidentifier():
            return None
        today = datetime.now(UTC).date()
        for back in range(self.days + 1):
            path = self.directory / (today - timedelta(days=back)).isoformat() / f"{email_id}.eml"
            if path.is_file():
                return path.read_bytes()
        return None

    def prune(self) -> int:
        """Remove the day folders past the retention; returns how many."""
        if not self.directory.is_dir():
            return 0
        oldest = datetime.now(UTC).date() - timedelta(days=self.days)
        removed = 0
        for folder in self.directory.iterdir():
            try:
                day = date.fromisoformat(folder.name)
            except ValueError:
                continue
            if day < oldest:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed

"""Copies of the exact messages that left, for the dashboard's download: the bytes each mailer
handed over (SMTP: after DKIM signing, as the server received them; SES: the raw message), one file
per email in a folder per day, readable by the owner only, kept `days` days.

One-time-code emails are never kept: nothing stored may reveal a live code. In a fleet each worker
keeps what it sent on its own disk; point AUTORELAY_DATA_DIR's `messages/` at a shared volume for the
dashboard to find every message.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from autorelay_core.domain.emails import Email


class KeptMessages:
    """Copies are written by a thread of their own: a mailer only queues the bytes (a campaign sends
    thousands a second; writing a file on the loop cost about 40 us a message, 6 % of a send). A copy
    queued when the process dies is lost: it is a convenience, the outbox is the record."""

    def __init__(self, directory: str | Path, days: int) -> None:
        self.directory = Path(directory)
        self.days = days
        self._queue: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending = 0  # queued or being written
        self._written = threading.Condition(self._lock)

    def keep(self, email: Email, raw: bytes) -> None:
        """Called by a mailer once the message has left; never raises."""
        if self.days <= 0 or email.sealed:
            return
        with self._lock:
            self._pending += 1
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_forever, name="kept-messages", daemon=True)
                self._writer.start()
        self._queue.put((email.id, raw))

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every queued copy is on disk (at most `timeout` seconds)."""
        with self._written:
            self._written.wait_for(lambda: self._pending == 0, timeout)

    def _write_forever(self) -> None:
        while True:
            email_id, raw = self._queue.get()
            self._write(email_id, raw)
            with self._written:
                self._pending -= 1
                self._written.notify_all()

    def _write(self, email_id: str, raw: bytes) -> None:
        folder = self.directory / datetime.now(UTC).strftime("%Y-%m-%d")
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(folder / f"{email_id}.eml", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(raw)
        except OSError:
            return

    def get(self, email_id: str) -> bytes | None:
        self.flush(0.5)  # a copy still queued is about to be written
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

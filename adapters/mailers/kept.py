"""Copies of the exact messages that left, for the dashboard's download: the bytes each mailer
handed over (SMTP: after DKIM signing, as the server received them; SES: the raw message), in a
folder per day, readable by the owner only, kept `days` days.

Each process appends its copies to a log of its own in the day's folder (`<tag>.log`), and a line
per copy to the log's index (`<tag>.idx`: "<email id> <offset> <length>"), written only once the
bytes are in the log. One file per message cost a campaign about 350 us of system time a message
(create, write, close, and the folder's entry), more than the rest of a send; an append costs
next to nothing. Folders from before this layout (one `<email id>.eml` each) are still read.

One-time-code emails are never kept: nothing stored may reveal a live code. In a fleet each worker
keeps what it sent on its own disk; point AUTORELAY_DATA_DIR's `messages/` at a shared volume for the
dashboard to find every message.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from autorelay_core.domain.emails import Email

# How long the writer lets copies gather after the first of a batch (seconds).
COLLECT = 0.02


class _DayLog:
    """This process's log and index in one day's folder, open for appending."""

    def __init__(self, folder: Path, tag: str) -> None:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder = folder
        self.log = _append(folder / f"{tag}.log")
        self.index = _append(folder / f"{tag}.idx")

    def close(self) -> None:
        self.log.close()
        self.index.close()


def _append(path: Path) -> BinaryIO:
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")


class _Index:
    """What one index file says so far, read on from where the last look stopped."""

    def __init__(self) -> None:
        self.read_to = 0
        self.found: dict[str, tuple[int, int]] = {}

    def catch_up(self, path: Path) -> None:
        try:
            with path.open("rb") as handle:
                handle.seek(self.read_to)
                chunk = handle.read()
        except OSError:
            return
        complete = chunk.rfind(b"\n") + 1  # a line still being written is read next time
        for line in chunk[:complete].splitlines():
            email_id, offset, length = line.decode("ascii", "replace").split(" ")
            self.found[email_id] = (int(offset), int(length))
        self.read_to += complete


class KeptMessages:
    """Copies are written by a thread of their own: a mailer only queues the bytes (a campaign sends
    thousands a second). A copy queued when the process dies is lost: it is a convenience, the
    outbox is the record."""

    def __init__(self, directory: str | Path, days: int) -> None:
        self.directory = Path(directory)
        self.days = days
        self._tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._queue: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending = 0  # queued or being written
        self._written = threading.Condition(self._lock)
        self._day: _DayLog | None = None
        self._indexes: dict[Path, _Index] = {}
        self._reading = threading.Lock()

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
            batch = [self._queue.get()]
            # Copies arriving meanwhile share the wake-up and the write: one thread switch a batch
            # rather than one a message, which on a busy campaign cost the sending loop its GIL.
            time.sleep(COLLECT)
            while len(batch) < 1000:  # whatever else is queued shares the flush
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(batch)
            except OSError:
                self._close_day()  # opened afresh for the next copies
            with self._written:
                self._pending -= len(batch)
                self._written.notify_all()

    def _write(self, batch: list[tuple[str, bytes]]) -> None:
        folder = self.directory / datetime.now(UTC).strftime("%Y-%m-%d")
        if self._day is None or self._day.folder != folder:
            self._close_day()
            self._day = _DayLog(folder, self._tag)
        day = self._day
        offset = day.log.tell()
        lines = []
        for email_id, raw in batch:
            lines.append(f"{email_id} {offset} {len(raw)}\n")
            offset += len(raw)
        day.log.write(b"".join(raw for _, raw in batch))
        day.log.flush()  # the bytes first: an index line always points at a whole copy
        day.index.write("".join(lines).encode("ascii"))
        day.index.flush()

    def _close_day(self) -> None:
        if self._day is not None:
            try:
                self._day.close()
            except OSError:
                pass
            self._day = None

    def get(self, email_id: str) -> bytes | None:
        self.flush(0.5)  # a copy still queued is about to be written
        if not email_id.isidentifier():
            return None
        today = datetime.now(UTC).date()
        for back in range(self.days + 1):
            folder = self.directory / (today - timedelta(days=back)).isoformat()
            if folder.is_dir():
                found = self._find(folder, email_id)
                if found is not None:
                    return found
        return None

    def _find(self, folder: Path, email_id: str) -> bytes | None:
        single = folder / f"{email_id}.eml"  # the layout before the logs
        if single.is_file():
            return single.read_bytes()
        for index_path in folder.glob("*.idx"):
            with self._reading:
                index = self._indexes.setdefault(index_path, _Index())
                index.catch_up(index_path)
                where = index.found.get(email_id)
            if where is not None:
                with index_path.with_suffix(".log").open("rb") as log:
                    log.seek(where[0])
                    return log.read(where[1])
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
                with self._reading:
                    for path in [p for p in self._indexes if p.parent == folder]:
                        del self._indexes[path]
                removed += 1
        return removed

"""The log mailer: writes each message as an RFC 5322 `.eml` file instead of sending it.

The default for the embedded profile and the mailer every test-mode key uses. One file per
message, named after the email id, published atomically and exclusively (temp file + link): a
redelivery after a crash finds the file and writes nothing, so each message is written once.
Every write also appends a line `<email id> <pid>` to `journal.log`, which lets an operator (or a
test) count writes and see which process made each. The line follows the publication, so a process
killed between the two leaves a message without its line, never a line without its message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TextIO

from adapters.mailers.mime import build_message, envelope_recipients
from autorelay_core.domain.emails import Email
from autorelay_core.ports import Handover

log = logging.getLogger("autorelay.mailer.log")


class LogMailer:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._journal: TextIO | None = None  # opened once, appended to line by line
        self._journal_lock = threading.Lock()
        self._anonymous = hasattr(os, "O_TMPFILE")  # Linux

    def path_for(self, email_id: str) -> Path:
        return self.directory / f"{email_id}.eml"

    async def close(self) -> None:
        with self._journal_lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None

    async def send(self, email: Email, sent_at: datetime, handover: Handover | None = None) -> str:
        # No hand-over record: publishing is idempotent (a second delivery finds the file and writes
        # nothing), so a delivery cut short is simply done again, with nothing lost or doubled.
        # Built and written in a thread: MIME-encoding a 2 MB body would hold the event loop for tens
        # of ms, and each file system call on the loop gives up the GIL and waits to get it back.
        if await asyncio.to_thread(self._write, email, sent_at):
            log.info("wrote %s for %d recipient(s)", email.id, len(envelope_recipients(email)))
        return email.message_id

    def _write(self, email: Email, sent_at: datetime) -> bool:
        """Write the message unless an earlier delivery did; whether this one did."""
        target = self.path_for(email.id)
        data = build_message(email, sent_at)
        if self._anonymous:
            try:
                return self._write_anonymous(data, target)
            except OSError:  # a file system without O_TMPFILE: named temporary files from now on
                self._anonymous = False
        staged = self._stage(target, data)
        if staged is None:
            return False
        try:
            return self._publish(partial(os.link, staged, target), target)
        finally:
            staged.unlink(missing_ok=True)

    def _write_anonymous(self, data: bytes, target: Path) -> bool:
        """An unnamed file in the folder (O_TMPFILE), given its name once whole: four system calls
        where a named temporary file took eight, and nothing left to clean up after a crash."""
        fd = os.open(self.directory, os.O_TMPFILE | os.O_WRONLY, 0o600)
        folder = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.write(fd, data)
            # linkat(AT_SYMLINK_FOLLOW) names the open file itself; os.link calls linkat only when
            # given a folder descriptor.
            link = partial(os.link, f"/proc/self/fd/{fd}", target.name, dst_dir_fd=folder, follow_symlinks=True)
            return self._publish(link, target)
        finally:
            os.close(fd)
            os.close(folder)

    def _stage(self, target: Path, data: bytes) -> Path | None:
        if target.exists():
            return None
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return Path(temp)

    def _publish(self, link: Callable[[], None], target: Path) -> bool:
        try:
            link()  # fails if the file exists: the message was written before
        except FileExistsError:
            return False
        with self._journal_lock:
            if self._journal is None:
                # Line-buffered in append mode: each line is one write, whole, at the end.
                self._journal = open(self.directory / "journal.log", "a", encoding="ascii", buffering=1)
            self._journal.write(f"{target.stem} {os.getpid()}\n")
        return True

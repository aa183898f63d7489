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
from datetime import datetime
from pathlib import Path

from adapters.mailers.mime import build_message, envelope_recipients
from autorelay_core.domain.emails import Email
from autorelay_core.ports import Handover

log = logging.getLogger("autorelay.mailer.log")


class LogMailer:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, email_id: str) -> Path:
        return self.directory / f"{email_id}.eml"

    async def close(self) -> None:
        return None  # holds nothing open

    async def send(self, email: Email, sent_at: datetime, handover: Handover | None = None) -> str:
        # No hand-over record: publishing is idempotent (a second delivery finds the file and writes
        # nothing), so a delivery cut short is simply done again, with nothing lost or doubled.
        target = self.path_for(email.id)
        # Built in the thread too: MIME-encoding a 2 MB body would hold the event loop for tens of ms.
        staged = await asyncio.to_thread(lambda: self._stage(target, build_message(email, sent_at)))
        if staged is None:
            return email.message_id  # written by an earlier delivery
        try:
            self._publish(staged, target)
        finally:
            staged.unlink(missing_ok=True)
        log.info("wrote %s for %d recipient(s)", email.id, len(envelope_recipients(email)))
        return email.message_id

    def _stage(self, target: Path, data: bytes) -> Path | None:
        if target.exists():
            return None
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return Path(temp)

    def _publish(self, staged: Path, target: Path) -> None:
        try:
            os.link(staged, target)  # fails if the file exists: the message was written before
        except FileExistsError:
            return
        with open(self.directory / "journal.log", "a", encoding="ascii") as journal:
            journal.write(f"{target.stem} {os.getpid()}\n")

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

from adapters.mailers.handover import handed_over
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

    async def send(self, email: Email, sent_at: datetime, handover: Handover | None = None) -> str:
        data = build_message(email, sent_at)
        await handed_over(handover)
        await asyncio.to_thread(self._write, self.path_for(email.id), data)
        log.info("wrote %s for %d recipient(s)", email.id, len(envelope_recipients(email)))
        return email.message_id

    def _write(self, target: Path, data: bytes) -> None:
        if target.exists():
            return
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            try:
                os.link(temp, target)  # fails if the file exists: the message was written before
            except FileExistsError:
                return
        finally:
            Path(temp).unlink(missing_ok=True)
        with open(self.directory / "journal.log", "a", encoding="ascii") as journal:
            journal.write(f"{target.stem} {os.getpid()}\n")

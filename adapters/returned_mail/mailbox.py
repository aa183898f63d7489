"""Returned mail read from a mailbox over IMAP, for installs that cannot receive on port 25.

AUTORELAY_BOUNCE_IMAP_URL=imaps://user:password@host[:port]/INBOX[?processed=Folder]. Each message
is read without marking it seen (BODY.PEEK), its reports recorded, and only then marked done: moved
to `processed` when given, else flagged with the keyword $AutoRelayDone (or \\Seen where the server
keeps no keywords). Nothing is deleted, so nothing is lost; a restart between recording and
marking reads the message again, and recording it again changes nothing (intake.py).
Uses the standard library's imaplib on a thread; the calls are few and short.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import imaplib
import logging
import re
import ssl
from email.utils import getaddresses
from urllib.parse import parse_qs, unquote, urlsplit

from attrs import frozen

from adapters.returned_mail.intake import Intake
from autorelay_core.errors import Invalid
from autorelay_core.usecases.context import Deps

log = logging.getLogger("autorelay.inbound")

DONE = "$AutoRelayDone"
MAX_MESSAGE = 5 * 1024 * 1024  # as the inbound listener: reports carry headers or one copy
# Where a mailbox shows the address a message was delivered to (a catch-all for the bounce domain
# keeps the VERP address in one of these).
_ADDRESSED = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To", "Cc")
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)


@frozen
class ImapSource:
    host: str
    port: int
    user: str
    password: str
    mailbox: str
    tls: bool  # imaps: TLS from the first byte; imap: STARTTLS, required unless on loopback
    processed: str = ""  # a folder to move processed mail to; "" flags it in place

    @classmethod
    def parse(cls, url: str) -> ImapSource:
        parts = urlsplit(url)
        if parts.scheme not in {"imap", "imaps"} or not parts.hostname:
            raise Invalid("the bounce mailbox is a URL like imaps://user:password@host/INBOX")
        if not parts.username or parts.password is None:
            raise Invalid("the bounce mailbox URL needs a user and a password (imaps://user:password@host/INBOX)")
        tls = parts.scheme == "imaps"
        processed = parse_qs(parts.query).get("processed", [""])[0]
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if tls else 143),
            user=unquote(parts.username),
            password=unquote(parts.password),
            mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
            tls=tls,
            processed=processed,
        )

    def describe(self) -> str:
        """For logs and the banner: never the password."""
        where = f"{'imaps' if self.tls else 'imap'}://{self.user}@{self.host}:{self.port}/{self.mailbox}"
        marked = f"moved to {self.processed}" if self.processed else f"flagged {DONE}"
        return f"{where} (processed mail {marked})"


class BounceMailbox:
    def __init__(
        self,
        deps: Deps,
        source: ImapSource,
        *,
        context: ssl.SSLContext | None = None,
        batch: int = 50,
        intake: Intake | None = None,
    ):
        self.deps, self.source, self.batch = deps, source, batch
        self.intake = intake or Intake(deps)
        self._context = context or ssl.create_default_context()
        self._conn: imaplib.IMAP4 | None = None
        self._keywords = True
        self._move = False

    async def poll_once(self) -> int:
        """Read up to `batch` unprocessed messages; returns how many were processed."""
        conn = await asyncio.to_thread(self._connect)
        uids = await asyncio.to_thread(self._waiting, conn)
        for uid in uids[: self.batch]:
            content = await asyncio.to_thread(self._fetch, conn, uid)
            if content is not None:
                await self.intake.take(content, addressed_to(content), keep=False)  # it stays in the mailbox
            await asyncio.to_thread(self._mark_done, conn, uid)
        return min(len(uids), self.batch)

    async def run(self, stopping: asyncio.Event, interval: float) -> None:
        """Poll until `stopping` is set: at once again while a batch was full, else every `interval`
        seconds. A failure (server away, password changed) is logged and retried next round."""
        while not stopping.is_set():
            try:
                full = await self.poll_once() >= self.batch
            except (OSError, imaplib.IMAP4.error, ssl.SSLError) as error:
                log.warning("bounce mailbox %s: %s; trying again in %g s", self.source.describe(), error, interval)
                await asyncio.to_thread(self.close)
                full = False
            if not full:
                try:
                    await asyncio.wait_for(stopping.wait(), interval)
                except TimeoutError:
                    pass
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.logout()
            except (OSError, imaplib.IMAP4.error):
                pass

    # Blocking IMAP, on a thread --------------------------------------------------------------
    def _connect(self) -> imaplib.IMAP4:
        if self._conn is not None:
            try:
                self._conn.noop()
                return self._conn
            except (OSError, imaplib.IMAP4.error):
                self.close()
        source = self.source
        if source.tls:
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(source.host, source.port, ssl_context=self._context, timeout=30)
        else:
            conn = imaplib.IMAP4(source.host, source.port, timeout=30)
            if "STARTTLS" in conn.capabilities:
                conn.starttls(self._context)
            elif source.host not in {"127.0.0.1", "::1", "localhost"}:
                conn.logout()
                raise imaplib.IMAP4.error("no STARTTLS offered: the password would cross the network in clear")
        conn.login(source.user, source.password)
        # The greeting's capabilities are the unauthenticated ones; MOVE shows after the login.
        _, answer = conn.capability()
        self._move = b"MOVE" in (answer[0] or b"").upper().split() if answer else False
        status, _ = conn.select(_quoted(source.mailbox))
        if status != "OK":
            conn.logout()
            raise imaplib.IMAP4.error(f"no mailbox {source.mailbox!r}")
        flags = b" ".join(f for f in conn.untagged_responses.get("PERMANENTFLAGS", []) if isinstance(f, bytes))
        self._keywords = b"\\*" in flags
        if source.processed:
            conn.create(_quoted(source.processed))  # "already exists" is fine
        self._conn = conn
        return conn

    def _waiting(self, conn: imaplib.IMAP4) -> list[bytes]:
        if self.source.processed:
            criteria = "ALL"  # processed mail has left the mailbox
        else:
            criteria = f"UNKEYWORD {DONE}" if self._keywords else "UNSEEN"
        status, data = conn.uid("SEARCH", criteria)
        if status != "OK":
            raise imaplib.IMAP4.error(f"SEARCH failed: {data!r}")
        return data[0].split() if data and data[0] else []

    def _fetch(self, conn: imaplib.IMAP4, uid: bytes) -> bytes | None:
        status, data = conn.uid("FETCH", uid.decode(), "(RFC822.SIZE)")
        size = re.search(rb"RFC822\.SIZE (\d+)", data[0] if data and isinstance(data[0], bytes) else b"")
        if status == "OK" and size and int(size.group(1)) > MAX_MESSAGE:
            log.info("bounce mailbox: message %s is %s bytes, too large for a report; marked, not read", uid, size[1])
            return None
        status, data = conn.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
        if status != "OK":
            raise imaplib.IMAP4.error(f"FETCH {uid!r} failed: {data!r}")
        for part in data:
            if isinstance(part, tuple):
                return part[1]
        return None  # expunged meanwhile by someone else

    def _mark_done(self, conn: imaplib.IMAP4, uid: bytes) -> None:
        if self.source.processed:
            folder = _quoted(self.source.processed)
            if self._move:
                status, data = conn.uid("MOVE", uid.decode(), folder)
            else:
                status, data = conn.uid("COPY", uid.decode(), folder)
                if status == "OK":
                    conn.uid("STORE", uid.decode(), "+FLAGS.SILENT", "(\\Deleted)")
                    conn.expunge()
        else:
            flag = DONE if self._keywords else "\\Seen"
            status, data = conn.uid("STORE", uid.decode(), "+FLAGS.SILENT", f"({flag})")
        if status != "OK":
            raise imaplib.IMAP4.error(f"could not mark message {uid!r} processed: {data!r}")


def addressed_to(content: bytes) -> list[str]:
    headers = _HEADERS.parsebytes(content)
    values = [str(v) for name in _ADDRESSED for v in headers.get_all(name, [])]
    return [address for _, address in getaddresses(values) if address]


def _quoted(name: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9._/-]+", name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'

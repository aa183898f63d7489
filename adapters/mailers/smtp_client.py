"""One SMTP session of the SMTP mailer, correct on every event loop (asyncio and uvloop alike).

aiosmtplib sets the session up through its public API: it connects, says EHLO, starts TLS
(STARTTLS or implicit) and authenticates. The connection then passes, through asyncio's public
`transport.set_protocol`, to a protocol of ours (`ReplyReader`) that carries every transaction:

- With servers that offer PIPELINING (RFC 2920; Postfix, Exim, Gmail and every large provider),
  MAIL, every RCPT and DATA go out in one write and their replies are read however the server
  sends them (all in one packet, one by one, or split anywhere): one round trip instead of one a
  command. Other servers get one command at a time.
- The hand-over: the message goes out after the server's 354, and only its final "." waits for the
  durable record that it is being handed over (`handed_over`). A worker killed before that point
  leaves a transaction the server discards; one killed after it has handed the message over, and
  the outbox knows.

`ReplyParser` reads replies (RFC 5321 4.2, multi-line ones too) from bytes as they come; it is
pure, and property-tested on replies split and joined in every way.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import deque

import aiosmtplib
from attrs import frozen

from adapters.mailers.handover import handed_over
from autorelay_core.ports import Handover

_START_INPUT, _COMPLETED = 354, 250
_ACCEPTED = (250, 251)
_REPLY_LINE = re.compile(rb"([2-5][0-9][0-9])(?:([ -])(.*))?")
_LINE_END = re.compile(rb"\r\n|\r|\n")
MAX_REPLY_LINE = 8192  # RFC 5321 allows 512; some servers write longer, none this long
MAX_REPLY_LINES = 200


@frozen
class Reply:
    code: int
    message: str  # the text of every line, joined by "\n"


class SmtpError(Exception):
    """A session that went wrong; the subclasses say how."""


class Refused(SmtpError):
    """The server answered a command with this reply (4xx or 5xx, or an unexpected code)."""

    def __init__(self, reply: Reply, stage: str) -> None:
        super().__init__(f"{reply.code} {reply.message}")
        self.reply, self.stage = reply, stage  # stage: "MAIL", "DATA", "message"


class RecipientsRefused(SmtpError):
    """Every recipient was refused (recipient -> reply); nothing was sent."""

    def __init__(self, refused: dict[str, Reply]) -> None:
        super().__init__("; ".join(f"{a}: {r.code} {r.message}" for a, r in refused.items()))
        self.refused = refused


class Disconnected(SmtpError):
    """The server closed the connection (or it broke)."""


class ProtocolError(SmtpError):
    """The server wrote something that is not an SMTP reply."""


class ReplyParser:
    """Bytes in, whole replies out. A reply is one or more lines `NNN-text` ending with a line
    `NNN text` (or `NNN` alone); every line of a reply has the same code. Lines end in CRLF (a bare
    LF is taken too). What does not parse raises ProtocolError: the session cannot be trusted."""

    def __init__(self) -> None:
        self._buffer = b""
        self._lines: list[bytes] = []
        self._code: bytes | None = None

    def feed(self, data: bytes) -> list[Reply]:
        self._buffer += data
        replies: list[Reply] = []
        while (end := self._buffer.find(b"\n")) >= 0:
            line, self._buffer = self._buffer[:end].rstrip(b"\r"), self._buffer[end + 1 :]
            if len(line) > MAX_REPLY_LINE:
                raise ProtocolError(f"a reply line of {len(line)} bytes")
            found = _REPLY_LINE.fullmatch(line)
            if found is None:
                raise ProtocolError(f"not an SMTP reply: {line[:80]!r}")
            code, more, text = found.group(1), found.group(2), found.group(3) or b""
            if self._code is not None and code != self._code:
                raise ProtocolError(f"a reply's lines carry codes {self._code!r} and {code!r}")
            self._code = code
            self._lines.append(text)
            if len(self._lines) > MAX_REPLY_LINES:
                raise ProtocolError(f"a reply of over {MAX_REPLY_LINES} lines")
            if more != b"-":
                message = "\n".join(t.decode("utf-8", "replace") for t in self._lines)
                replies.append(Reply(int(code), message))
                self._lines, self._code = [], None
        if len(self._buffer) > MAX_REPLY_LINE:
            raise ProtocolError(f"a reply line of over {MAX_REPLY_LINE} bytes")
        return replies


class ReplyReader(asyncio.Protocol):
    """The connection's protocol once the session is set up: every reply that arrives is parsed and
    queued, in order, for the transaction that awaits it."""

    def __init__(self) -> None:
        self._parser = ReplyParser()
        self._replies: deque[Reply] = deque()
        self._failed: SmtpError | None = None
        self._waiter: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        if self._failed is not None:
            return
        try:
            self._replies.extend(self._parser.feed(data))
        except ProtocolError as error:
            self._failed = error
        self._wake()

    def eof_received(self) -> bool | None:
        self._lost(Disconnected("the server closed the connection"))
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost(Disconnected(f"the connection broke: {exc}" if exc else "the server closed the connection"))

    def _lost(self, error: SmtpError) -> None:
        if self._failed is None:
            self._failed = error
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    @property
    def failed(self) -> bool:
        return self._failed is not None

    async def reply(self, timeout: float) -> Reply:  # noqa: ASYNC109 (one deadline for a reply)
        while not self._replies:
            if self._failed is not None:
                raise self._failed
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._waiter, timeout)
            except TimeoutError:
                raise TimeoutError(f"no reply from the SMTP server within {timeout:g} s") from None
            finally:
                self._waiter = None
        return self._replies.popleft()


class Session:
    """A connected, authenticated session that carries one transaction at a time."""

    def __init__(
        self, transport: asyncio.BaseTransport, reader: ReplyReader, extensions: dict[str, str], timeout: float
    ) -> None:
        self._transport, self._reader, self.timeout = transport, reader, timeout
        self.pipelining = "pipelining" in extensions
        self.size = "size" in extensions
        self.smtputf8 = "smtputf8" in extensions

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        security: str,
        username: str | None,
        password: str | None,
        timeout: float,  # noqa: ASYNC109 (each reply's deadline, kept by the session)
        tls_context: ssl.SSLContext | None,
    ) -> Session:
        """Connect, EHLO, STARTTLS or implicit TLS, AUTH (aiosmtplib), then take the connection.
        aiosmtplib's errors (refused AUTH, a failed handshake) come out as they are."""
        client = aiosmtplib.SMTP(
            hostname=host,
            port=port,
            username=username,
            password=password,
            timeout=timeout,
            use_tls=security == "tls",
            start_tls=security == "starttls",
            tls_context=tls_context,
        )
        await client.connect()
        if client.is_ehlo_or_helo_needed:  # connect() says EHLO only on its way to STARTTLS or AUTH
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()  # a server from before ESMTP: no extensions, no pipelining
        transport = client.transport  # uvloop's transports are not asyncio's classes, but the same API
        if transport is None or transport.is_closing():
            raise Disconnected("the SMTP connection closed while it was being set up")
        reader = ReplyReader()
        transport.set_protocol(reader)  # aiosmtplib's client is not used again on this connection
        return cls(transport, reader, dict(client.esmtp_extensions), timeout)

    @property
    def is_connected(self) -> bool:
        return not self._transport.is_closing() and not self._reader.failed

    def _write(self, data: bytes) -> None:
        if not self.is_connected:
            raise Disconnected("the connection is closed")
        self._transport.write(data)  # type: ignore[attr-defined]  # every stream transport writes

    async def _command(self, line: bytes) -> Reply:
        self._write(line)
        return await self._reader.reply(self.timeout)

    async def transaction(
        self, sender: str, recipients: list[str], message: bytes, handover: Handover | None = None
    ) -> tuple[dict[str, Reply], str]:
        """Send one message: (the recipients refused while others took it, the server's final
        reply). Refused, RecipientsRefused, Disconnected, TimeoutError otherwise; after a refusal
        the session is reset and can carry the next message."""
        body = _data_body(message)
        utf8 = not all(a.isascii() for a in (sender, *recipients))
        if utf8 and not self.smtputf8:
            raise Refused(Reply(553, "the server does not take internationalised addresses (no SMTPUTF8)"), "MAIL")
        encoding = "utf-8" if utf8 else "ascii"
        params = (f" SIZE={len(body)}" if self.size else "") + (" SMTPUTF8" if utf8 else "")
        mail = f"MAIL FROM:<{_checked(sender)}>{params}\r\n".encode(encoding)
        rcpts = [f"RCPT TO:<{_checked(r)}>\r\n".encode(encoding) for r in recipients]
        if self.pipelining:
            # Every reply is read, whatever the first ones say, to keep the session in step.
            self._write(b"".join((mail, *rcpts, b"DATA\r\n")))
            first = await self._reader.reply(self.timeout)
            replies = [await self._reader.reply(self.timeout) for _ in recipients]
            start = await self._reader.reply(self.timeout)
        else:
            first = await self._command(mail)
            if first.code != _COMPLETED:
                return await self._abandon(Refused(first, "MAIL"))
            replies = [await self._command(rcpt) for rcpt in rcpts]
            if not any(r.code in _ACCEPTED for r in replies):
                refused = dict(zip(recipients, replies, strict=True))
                return await self._abandon(RecipientsRefused(refused))
            start = await self._command(b"DATA\r\n")
        refused = {r: reply for r, reply in zip(recipients, replies, strict=True) if reply.code not in _ACCEPTED}
        if first.code != _COMPLETED or len(refused) == len(recipients) or start.code != _START_INPUT:
            if start.code == _START_INPUT:  # a server that opened DATA anyway: end it empty
                await self._command(b".\r\n")
            if first.code != _COMPLETED:
                return await self._abandon(Refused(first, "MAIL"))
            if len(refused) == len(recipients):
                return await self._abandon(RecipientsRefused(refused))
            return await self._abandon(Refused(start, "DATA"))
        self._write(body)
        # The point of no return: the "." goes out right after the record is durable. A lost lease
        # (MailerError) sends nothing more, and the caller drops the connection: the server drops
        # the message.
        await handed_over(handover, lambda: self._write(b".\r\n"))
        final = await self._reader.reply(self.timeout)
        if final.code != _COMPLETED:
            raise Refused(final, "message")
        return refused, final.message

    async def _abandon(self, error: SmtpError) -> tuple[dict[str, Reply], str]:
        """As aiosmtplib's sendmail does: a clean envelope for the session's next message."""
        try:
            await self._command(b"RSET\r\n")
        except (SmtpError, TimeoutError, OSError):
            self.close()
        raise error

    async def quit(self) -> None:
        try:
            await self._command(b"QUIT\r\n")
        except (SmtpError, TimeoutError, OSError):
            pass
        self.close()

    def close(self) -> None:
        if not self._transport.is_closing():
            self._transport.close()


def _checked(address: str) -> str:
    """An envelope address as it goes on a command line: nothing that could end the line or the
    angle brackets (the core never stores such an address; this is the last guard)."""
    if any(c in address for c in "<>\r\n\0 ") or not address:
        raise Refused(Reply(553, f"cannot put {address!r} in an SMTP command"), "MAIL")
    return address


def _data_body(message: bytes) -> bytes:
    """The message as DATA carries it, without the final ".": CRLF line endings, ending in CRLF,
    lines starting with "." doubled."""
    crlf = message.count(b"\r\n")
    if not (message.count(b"\r") == message.count(b"\n") == crlf and message.endswith(b"\r\n")):
        message = _LINE_END.sub(b"\r\n", message)  # ours always are; a signer's might not be
        if not message.endswith(b"\r\n"):
            message += b"\r\n"
    # Every line now ends in CRLF, so a line starting with "." follows one, and a plain replace
    # doubles them all: aiosmtplib's regex took 30 us on a 4 KB message, a tenth of a send, and
    # quoted-printable bodies often have such a line.
    stuffed = message.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed

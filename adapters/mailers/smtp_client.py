"""An aiosmtplib client that records the hand-over between the message's last byte and the end of
DATA: the message and the envelope are with the server, only the final "." is held back until our
record is durable. A worker killed before that point leaves a transaction the server discards; one
killed after it has handed the message over, and the outbox knows (Delivery.HANDOVER).

With servers that offer PIPELINING (RFC 2920; Postfix, Exim and the big providers all do), MAIL,
every RCPT and DATA go out in one write and their replies come back together: one round trip where
aiosmtplib's `sendmail` takes one per command, and a fraction of its CPU time per message (the
transaction was the costliest step of a campaign send). aiosmtplib connects, says EHLO, starts TLS
and authenticates as usual; only the transaction is ours. Other servers get aiosmtplib's own
exchange, with the one await of the hand-over added in `data()`.

aiosmtplib has no hook for either, so both use its protocol's internals (its command lock, reply
parser and reply waiter), checked to be there; without them the stock exchange runs, recording the
hand-over just before it.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any, cast

import aiosmtplib
from aiosmtplib.errors import (
    SMTPDataError,
    SMTPRecipientRefused,
    SMTPRecipientsRefused,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)
from aiosmtplib.protocol import SMTPProtocol, normalize_message_line_endings
from aiosmtplib.response import SMTPResponse
from aiosmtplib.typing import Default

from adapters.mailers.handover import handed_over
from autorelay_core.ports import Handover

_START_INPUT, _COMPLETED = 354, 250
_ACCEPTED = (250, 251)
# An envelope address we put on a command line as is: printable ASCII, no spaces, no angle brackets.
# Anything else (an internationalised address, say) takes aiosmtplib's own path.
_PLAIN_ADDRESS = re.compile(r"[!-;=?-~]+@[!-;=?-~]+")
_INTERNALS = ("_command_lock", "_response_waiter", "_response_pending", "_buffer", "_read_response_from_buffer")


class PipeliningProtocol(SMTPProtocol):
    """aiosmtplib's protocol, keeping every reply that arrives while replies are awaited. The stock
    one parses one reply per read and drops data that arrives before that reply is picked up, which
    pipelined commands (several replies at once, or in quick succession) would lose."""

    _ready: deque[SMTPResponse]

    def data_received(self, data: bytes) -> None:
        waiter = self._response_waiter
        if waiter is None or not self._response_pending:
            return  # no command awaits a reply: unsolicited, dropped as aiosmtplib does
        self._buffer.extend(data)
        try:
            while (reply := self._read_response_from_buffer()) is not None:
                self._ready.append(reply)
        except Exception as error:  # malformed or overlong: the reader gets the error
            if not waiter.done():
                self._set_response_exception(waiter, error)
            return
        if self._ready and not waiter.done():
            waiter.set_result(self._ready.popleft())

    async def read_response(self, timeout: float | None = None) -> SMTPResponse:  # noqa: ASYNC109 (overrides aiosmtplib)
        if self._ready:
            return self._ready.popleft()
        return await super().read_response(timeout)

    async def next_reply(self, timeout: float | None) -> SMTPResponse:  # noqa: ASYNC109 (aiosmtplib's style)
        """The next reply of a pipelined group (the flag keeps later replies from being dropped)."""
        self._response_pending = True
        return await self.read_response(timeout)


class HandoverSMTP(aiosmtplib.SMTP):
    # Set by the mailer around each transaction (a pooled connection carries one at a time).
    handover: Handover | None = None

    async def _create_connection(self, timeout: float | None) -> SMTPResponse:  # noqa: ASYNC109 (overrides aiosmtplib)
        reply = await super()._create_connection(timeout)
        protocol = self.protocol
        if type(protocol) is SMTPProtocol and all(hasattr(protocol, name) for name in _INTERNALS):
            # aiosmtplib builds its protocol itself (there is no factory to pass); this subclass
            # only changes how replies are read, and the greeting has been read already.
            protocol.__class__ = PipeliningProtocol
            cast(PipeliningProtocol, protocol)._ready = deque()
        return reply

    async def transaction(self, sender: str, recipients: list[str], message: bytes) -> tuple[dict, str]:
        """Send one message: (refused recipients, the server's final reply), as `sendmail`."""
        await self._ehlo_or_helo_if_needed()  # what the server offers is known after EHLO
        pipelining = self.supports_extension("pipelining") and isinstance(self.protocol, PipeliningProtocol)
        if pipelining and all(_PLAIN_ADDRESS.fullmatch(a) for a in (sender, *recipients)):
            return await self._pipelined(sender, recipients, message)
        return await self.sendmail(sender, recipients, message)

    async def _pipelined(self, sender: str, recipients: list[str], message: bytes) -> tuple[dict, str]:
        protocol = self.protocol
        assert isinstance(protocol, PipeliningProtocol)
        timeout = self.timeout
        body = _data_body(message)
        lock = protocol._command_lock
        assert lock is not None  # set when the connection was made
        size = f" SIZE={len(body)}" if self.supports_extension("size") else ""
        commands = [f"MAIL FROM:<{sender}>{size}\r\n", *(f"RCPT TO:<{r}>\r\n" for r in recipients), "DATA\r\n"]
        try:
            async with lock:
                protocol._response_pending = True
                protocol.write("".join(commands).encode("ascii"))
                # Every reply is read, whatever the first ones say, to keep the connection in step.
                mail = await protocol.read_response(timeout)
                replies = [await protocol.next_reply(timeout) for _ in recipients]
                start = await protocol.next_reply(timeout)
                refused = {r: rep for r, rep in zip(recipients, replies, strict=True) if rep.code not in _ACCEPTED}
                if mail.code != _COMPLETED or len(refused) == len(recipients) or start.code != _START_INPUT:
                    if start.code == _START_INPUT:  # a server that opened DATA anyway: end it empty
                        protocol._response_pending = True
                        protocol.write(b".\r\n")
                        await protocol.read_response(timeout)
                    error = _refusal(sender, mail, refused, len(refused) == len(recipients), start)
                else:
                    protocol._response_pending = True
                    # The body and its "." go out together the moment the record is durable (one
                    # write, one system call). MailerError (lease lost): nothing of it goes, and the
                    # caller drops the connection, so the server drops the message.
                    await handed_over(self.handover, lambda: protocol.write(body + b".\r\n"))
                    reply = await protocol.read_response(timeout)
                    if reply.code != _COMPLETED:
                        raise SMTPDataError(reply.code, reply.message)
                    return refused, reply.message
        except (SMTPServerDisconnected, SMTPTimeoutError):
            self.close()
            raise
        try:  # as `sendmail` does: a clean envelope for the connection's next message
            await self.rset()
        except (OSError, aiosmtplib.SMTPException):
            pass
        raise error

    async def data(self, message: str | bytes, /, *, timeout: Any = Default.token) -> Any:  # noqa: ASYNC109 (overrides aiosmtplib)
        protocol = self.protocol
        if self.handover is None or protocol is None or not all(hasattr(protocol, name) for name in _INTERNALS):
            # aiosmtplib's own DATA: the hand-over is recorded before it starts rather than before the ".".
            await handed_over(self.handover)
            return await super().data(message, timeout=timeout)
        lock = protocol._command_lock
        assert lock is not None

        def end_of_data() -> None:
            protocol._response_pending = True
            protocol.write(b".\r\n")

        if timeout is Default.token:
            timeout = self.timeout
        if isinstance(message, str):
            message = message.encode("ascii")
        body = _data_body(message)
        try:
            async with lock:
                protocol._response_pending = True
                protocol.write(b"DATA\r\n")
                start = await protocol.read_response(timeout=timeout)
                if start.code != _START_INPUT:
                    raise SMTPDataError(start.code, start.message)
                protocol.write(body)
                await handed_over(self.handover, end_of_data)
                reply = await protocol.read_response(timeout=timeout)
        except (SMTPServerDisconnected, SMTPTimeoutError):
            self.close()
            raise
        if reply.code != _COMPLETED:
            raise SMTPDataError(reply.code, reply.message)
        return reply


def _data_body(message: bytes) -> bytes:
    """The message as DATA carries it, without the final ".": CRLF line endings, ending in CRLF,
    lines starting with "." doubled."""
    crlf = message.count(b"\r\n")
    if not (message.count(b"\r") == message.count(b"\n") == crlf and message.endswith(b"\r\n")):
        message = normalize_message_line_endings(message)  # ours always are; a signer's might not be
    # Every line now ends in CRLF, so a line starting with "." follows one, and a plain replace
    # doubles them all: aiosmtplib's regex took 30 us on a 4 KB message, a tenth of a send, and
    # quoted-printable bodies often have such a line.
    stuffed = message.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def _refusal(
    sender: str, mail: SMTPResponse, refused: dict[str, SMTPResponse], everyone: bool, start: SMTPResponse
) -> SMTPResponseException | SMTPRecipientsRefused:
    """What went wrong in a pipelined envelope, as the exception `sendmail` would have raised."""
    if mail.code != _COMPLETED:
        return SMTPSenderRefused(mail.code, mail.message, sender)
    if everyone:
        return SMTPRecipientsRefused([SMTPRecipientRefused(r.code, r.message, a) for a, r in refused.items()])
    return SMTPDataError(start.code, start.message)

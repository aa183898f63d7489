"""An aiosmtplib client that records the hand-over between the message's last byte and the end of
DATA: the message and the envelope are with the server, only the final "." is held back until our
record is durable. A worker killed before that point leaves a transaction the server discards; one
killed after it has handed the message over, and the outbox knows (Delivery.HANDOVER).

aiosmtplib has no hook there, so `data()` below is its DATA exchange with one await added; it uses
the protocol's command lock as aiosmtplib does. Without the protocol internals it falls back to the
stock exchange, recording the hand-over just before it.
"""

from __future__ import annotations

from typing import Any

import aiosmtplib
from aiosmtplib.errors import SMTPDataError, SMTPServerDisconnected, SMTPTimeoutError
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from aiosmtplib.typing import Default

from adapters.mailers.handover import handed_over
from autorelay_core.ports import Handover

_START_INPUT, _COMPLETED = 354, 250


class HandoverSMTP(aiosmtplib.SMTP):
    # Set by the mailer around each transaction (a pooled connection carries one at a time).
    handover: Handover | None = None

    async def data(self, message: str | bytes, /, *, timeout: Any = Default.token) -> Any:  # noqa: ASYNC109 (overrides aiosmtplib)
        protocol = self.protocol
        if self.handover is None or not hasattr(protocol, "_command_lock"):
            await handed_over(self.handover)
            return await super().data(message, timeout=timeout)

        def end_of_data() -> None:
            protocol._response_pending = True
            protocol.write(b".\r\n")

        if timeout is Default.token:
            timeout = self.timeout
        if isinstance(message, str):
            message = message.encode("ascii")
        body = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(message))
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        try:
            async with protocol._command_lock:
                protocol._response_pending = True
                protocol.write(b"DATA\r\n")
                start = await protocol.read_response(timeout=timeout)
                if start.code != _START_INPUT:
                    raise SMTPDataError(start.code, start.message)
                protocol.write(body)
                # The "." goes out the moment the record is durable. MailerError (lease lost): it
                # never goes, and the caller drops the connection, so the server drops the message.
                await handed_over(self.handover, end_of_data)
                reply = await protocol.read_response(timeout=timeout)
        except (SMTPServerDisconnected, SMTPTimeoutError):
            self.close()
            raise
        if reply.code != _COMPLETED:
            raise SMTPDataError(reply.code, reply.message)
        return reply

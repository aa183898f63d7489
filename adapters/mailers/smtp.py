"""The SMTP mailer (aiosmtplib): on-prem relays, Postfix, a provider's SMTP endpoint.

Connections are kept and reused across messages, at most `pool_size` at a time (each one carries one
transaction at a time, so the pool bounds the concurrent senders too). Replies are classified the
way mail servers mean them: 2xx sent; 4xx transient (the outbox retries with backoff); 5xx permanent
(a hard bounce, with the refused recipients). Connection trouble is transient.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from datetime import datetime

import aiosmtplib
from attrs import frozen

from adapters.mailers.mime import build_message, envelope_recipients
from adapters.mailers.smtp_client import HandoverSMTP
from autorelay_core.domain.addresses import split_mailbox
from autorelay_core.domain.emails import Email
from autorelay_core.errors import MailerError
from autorelay_core.ports import Handover

log = logging.getLogger("autorelay.mailer.smtp")

# (email, message bytes) -> the bytes to send (the DKIM signer adds its header).
Signer = Callable[[Email, bytes], Awaitable[bytes]]


@frozen
class SmtpSettings:
    host: str
    port: int = 587
    security: str = "starttls"  # starttls | tls (implicit, port 465) | none
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    pool_size: int = 4
    tls_context: ssl.SSLContext | None = None


# (email, the exact bytes that left): keeps a copy (KeptMessages.keep); must not raise.
Keep = Callable[[Email, bytes], None]


class SmtpMailer:
    def __init__(self, settings: SmtpSettings, signer: Signer | None = None, keep: Keep | None = None) -> None:
        self.settings = settings
        self._signer = signer
        self._keep_copy = keep
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots: asyncio.Semaphore | None = None

    def _new_client(self) -> HandoverSMTP:
        s = self.settings
        return HandoverSMTP(
            hostname=s.host,
            port=s.port,
            username=s.username or None,
            password=s.password or None,
            timeout=s.timeout,
            use_tls=s.security == "tls",
            start_tls=True if s.security == "starttls" else False,
            tls_context=s.tls_context,
        )

    async def _connected(self) -> HandoverSMTP:
        while self._idle:
            client = self._idle.pop()
            if client.is_connected:
                return client  # type: ignore[return-value]  # the pool only ever holds HandoverSMTP
        client = self._new_client()
        await client.connect()  # EHLO, STARTTLS and AUTH as configured
        return client

    async def send(self, email: Email, sent_at: datetime, handover: Handover | None = None) -> str:
        message = build_message(email, sent_at)
        if self._signer is not None:
            message = await self._signer(email, message)
        sender = email.return_path or split_mailbox(email.sender)[1]
        recipients = envelope_recipients(email)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.settings.pool_size)
        async with self._slots:
            for attempt in (1, 2):
                client = None
                try:
                    client = await self._connected()
                    client.handover = handover
                    try:
                        refused, reply = await client.transaction(sender, recipients, message)
                    finally:
                        client.handover = None
                except MailerError:  # the hand-over was refused: the server drops the transaction
                    self._discard(client)
                    raise
                except aiosmtplib.SMTPServerDisconnected as error:
                    # A kept connection the server has since closed: one more try on a fresh one.
                    if attempt == 1:
                        continue
                    raise MailerError(f"SMTP server disconnected: {error}", permanent=False) from error
                except aiosmtplib.SMTPAuthenticationError as error:
                    # The operator's settings, not the message: retried (with backoff) until fixed.
                    self._discard(client)
                    problem = f"SMTP authentication failed ({error.code}); check the SMTP username and password"
                    raise MailerError(problem, permanent=False) from error
                except aiosmtplib.SMTPRecipientsRefused as error:
                    self._keep(client)
                    raise _refused(error) from error
                except aiosmtplib.SMTPResponseException as error:
                    self._discard(client)
                    permanent = 500 <= error.code < 600
                    raise MailerError(f"SMTP {error.code} {error.message}", permanent=permanent) from error
                except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
                    self._discard(client)
                    raise MailerError(
                        f"SMTP connection to {self.settings.host} failed: {error}", permanent=False
                    ) from error
                self._keep(client)
                if refused:
                    log.warning("%s: some recipients refused: %s", email.id, _describe(refused))
                if self._keep_copy is not None:
                    self._keep_copy(email, message)
                return reply
        raise MailerError("SMTP server disconnected twice", permanent=False)  # pragma: no cover

    def _keep(self, client: aiosmtplib.SMTP | None) -> None:
        if client is not None and client.is_connected:
            self._idle.append(client)

    @staticmethod
    def _discard(client: aiosmtplib.SMTP | None) -> None:
        if client is not None and client.is_connected:
            client.close()

    async def close(self) -> None:
        while self._idle:
            client = self._idle.pop()
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


def _describe(refused: dict) -> str:
    return "; ".join(f"{address}: {reply.code} {reply.message}" for address, reply in refused.items())


def _refused(error: aiosmtplib.SMTPRecipientsRefused) -> MailerError:
    """Every recipient was refused: permanent (a bounce of those addresses) if every refusal was
    5xx, else transient (a 4xx may pass on the next try)."""
    codes = [r.code for r in error.recipients]
    text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in error.recipients)
    if all(500 <= code < 600 for code in codes):
        return MailerError(f"SMTP refused {text}", permanent=True, bounced=tuple(r.recipient for r in error.recipients))
    return MailerError(f"SMTP refused {text}", permanent=False)

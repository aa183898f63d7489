"""The SMTP mailer: on-prem relays, Postfix, a provider's SMTP endpoint (sessions in smtp_client.py).

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
from adapters.mailers.smtp_client import Disconnected, RecipientsRefused, Refused, Reply, Session, SmtpError
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
        self._idle: list[Session] = []
        self._slots: asyncio.Semaphore | None = None

    async def _connected(self) -> Session:
        while self._idle:
            session = self._idle.pop()
            if session.is_connected:
                return session
        s = self.settings
        return await Session.open(  # EHLO, STARTTLS and AUTH as configured
            s.host,
            s.port,
            security=s.security,
            username=s.username or None,
            password=s.password or None,
            timeout=s.timeout,
            tls_context=s.tls_context,
        )

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
                session = None
                try:
                    session = await self._connected()
                    refused, reply = await session.transaction(sender, recipients, message, handover)
                except MailerError:  # the hand-over was refused: the server drops the transaction
                    self._discard(session)
                    raise
                except Disconnected as error:
                    # A kept connection the server has since closed: one more try on a fresh one.
                    self._discard(session)
                    if attempt == 1:
                        continue
                    raise MailerError(f"SMTP server disconnected: {error}", permanent=False) from error
                except aiosmtplib.SMTPAuthenticationError as error:
                    # The operator's settings, not the message: retried (with backoff) until fixed.
                    problem = f"SMTP authentication failed ({error.code}); check the SMTP username and password"
                    raise MailerError(problem, permanent=False) from error
                except RecipientsRefused as error:
                    self._keep(session)
                    raise _refused(error) from error
                except Refused as error:
                    self._keep(session)
                    code, text = error.reply.code, " ".join(error.reply.message.split())
                    raise MailerError(f"SMTP {code} {text}", permanent=500 <= code < 600) from error
                except (SmtpError, aiosmtplib.SMTPException, OSError, TimeoutError) as error:
                    self._discard(session)
                    raise MailerError(
                        f"SMTP connection to {self.settings.host} failed: {error}", permanent=False
                    ) from error
                self._keep(session)
                if refused:
                    log.warning("%s: some recipients refused: %s", email.id, _describe(refused))
                if self._keep_copy is not None:
                    self._keep_copy(email, message)
                return reply
        raise MailerError("SMTP server disconnected twice", permanent=False)  # pragma: no cover

    def _keep(self, session: Session | None) -> None:
        if session is not None and session.is_connected:
            self._idle.append(session)

    @staticmethod
    def _discard(session: Session | None) -> None:
        if session is not None:
            session.close()

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().quit()


def _describe(refused: dict[str, Reply]) -> str:
    return "; ".join(f"{address}: {reply.code} {reply.message}" for address, reply in refused.items())


def _refused(error: RecipientsRefused) -> MailerError:
    """Every recipient was refused: permanent (a bounce of those addresses) if every refusal was
    5xx, else transient (a 4xx may pass on the next try)."""
    codes = [r.code for r in error.refused.values()]
    text = "; ".join(f"{a}: {r.code} {' '.join(r.message.split())}" for a, r in error.refused.items())
    if all(500 <= code < 600 for code in codes):
        return MailerError(f"SMTP refused {text}", permanent=True, bounced=tuple(error.refused))
    return MailerError(f"SMTP refused {text}", permanent=False)

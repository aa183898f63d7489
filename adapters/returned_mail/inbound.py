"""The inbound listener: mail that comes back to the bounce domain (DSNs, ARF complaints), read and
handed to the core's feedback rule, and mail for the projects' receiving domains, handed to the
receiver (adapters/inbound_mail). It receives for nothing else (550 for any other domain: it is not
an open relay), bounds size, recipients and connections, and reads which email a report is about
from the VERP return path it was sent to (or, for a complaint sent to a feedback address, the
return path the report names). A forged or unknown address changes nothing."""

from __future__ import annotations

import asyncio
import logging
import ssl

from aiosmtpd.smtp import SMTP, Envelope, Session

from adapters.inbound_mail.receiver import Receiver
from adapters.returned_mail.intake import Intake
from adapters.smtp_server.guarded import GuardedSMTP, Limits, check_aiosmtpd
from autorelay_core.domain.dmarc import is_rua
from autorelay_core.domain.inbound import domain_of
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.receive_mail import accepts

log = logging.getLogger("autorelay.inbound")

# Reports carry the original's headers or a copy; received mail carries attachments (the limit
# most providers set for a whole message is 25 MB of which a third is base64's growth).
MAX_MESSAGE = 25 * 1024 * 1024
MAX_RECIPIENTS = 20
# A message's lines: 25 MB of base64 (76 characters a line) is 330,000; commands add a few.
MAX_LINES = 400_000


class InboundHandler:
    def __init__(self, deps: Deps, intake: Intake, receiver: Receiver | None = None) -> None:
        self.deps, self.intake, self.receiver = deps, intake, receiver

    def _returned(self, address: str) -> bool:
        """Bounces and complaints (the bounce domain's addresses but its DMARC reports')."""
        bounce = self.deps.config.bounce_domain.lower()
        return bool(bounce) and domain_of(address) == bounce and not (self.receiver and is_rua(address))

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        if not self._returned(address):
            verdict = await accepts(self.deps, address) if self.receiver is not None else None
            if verdict is None:
                return "550 5.7.1 Relaying denied: this server receives mail for its own domains only"
            if verdict.refusal:  # a reject route: the project's own reply
                return verdict.refusal
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if isinstance(server, GuardedSMTP):
            server.lines = 0  # the next message on this connection has a budget of its own
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        returned = [a for a in envelope.rcpt_tos if self._returned(a)]
        received = [a for a in envelope.rcpt_tos if not self._returned(a)]
        # Strangers' mail waits its turn at the sender, not in our memory.
        if (returned and self.intake.busy) or (received and self.receiver is not None and self.receiver.busy):
            return "451 4.3.2 Busy reading mail; try again later"
        reply = "250 2.0.0 OK"
        if received and self.receiver is not None:
            peer = session.peer[0] if isinstance(session.peer, tuple) else ""
            sender = envelope.mail_from or ""
            reply = await self.receiver.take(
                content, sender, received, client_address=peer, helo=session.host_name or ""
            )
        if returned:
            await self.intake.take(content, returned)
        return reply


async def start_inbound(
    deps: Deps,
    host: str,
    port: int,
    *,
    tls: ssl.SSLContext | None = None,
    limits: Limits | None = None,
    intake: Intake | None = None,
    receiver: Receiver | None = None,
) -> asyncio.Server:
    """Listen on host:port; STARTTLS offered (not required: senders of bounces may not have it).
    Without a `receiver`, only returned mail for the bounce domain is taken."""
    handler = InboundHandler(deps, intake or Intake(deps), receiver)
    # Strangers' lines at most 100,000 a second in all: a quarter of the loop the API shares.
    limits = limits or Limits(total=100, per_client=10, line_rate=100_000)
    loop = asyncio.get_running_loop()
    check_aiosmtpd(loop)

    def protocol() -> GuardedSMTP:
        return GuardedSMTP(
            handler,
            limits,
            max_lines=MAX_LINES,
            data_size_limit=MAX_MESSAGE,
            ident="AutoRelay inbound",
            tls_context=tls,
            require_starttls=False,
            timeout=60,
            command_call_limit={"MAIL": 1000, "RCPT": 20_000, "DATA": 1000, "RSET": 1000, "*": 20},
            loop=loop,
        )

    return await loop.create_server(protocol, host, port)

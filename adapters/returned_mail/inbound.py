"""The inbound listener: mail that comes back to the bounce domain (DSNs, ARF complaints), read and
handed to the core's feedback rule. It receives only for AUTORELAY_BOUNCE_DOMAIN (550 for any
other domain: it is not an open relay), bounds size, recipients and connections, and reads which
email a report is about from the VERP return path it was sent to (or, for a complaint sent to a
feedback address, the return path the report names). A forged or unknown address changes nothing."""

from __future__ import annotations

import asyncio
import logging
import ssl

from aiosmtpd.smtp import SMTP, Envelope, Session

from adapters.returned_mail.intake import Intake
from adapters.smtp_server.guarded import GuardedSMTP, Limits, check_aiosmtpd
from autorelay_core.usecases.context import Deps

log = logging.getLogger("autorelay.inbound")

MAX_MESSAGE = 5 * 1024 * 1024  # reports carry the original's headers or a copy; enough for either
MAX_RECIPIENTS = 20
# A report's lines: 5 MB of base64 (76 characters a line) is 70,000; commands add a few.
MAX_LINES = 200_000


class InboundHandler:
    def __init__(self, deps: Deps, intake: Intake) -> None:
        self.deps, self.intake = deps, intake

    def _domain(self) -> str:
        return self.deps.config.bounce_domain.lower()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.rpartition("@")[2].lower() != self._domain():
            return f"550 5.7.1 This server receives mail for {self._domain()} only"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if isinstance(server, GuardedSMTP):
            server.lines = 0  # the next message on this connection has a budget of its own
        if self.intake.busy:  # strangers' mail waits its turn at the sender, not in our memory
            return "451 4.3.2 Busy reading returned mail; try again later"
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        await self.intake.take(content, envelope.rcpt_tos)
        return "250 2.0.0 OK"


async def start_inbound(
    deps: Deps,
    host: str,
    port: int,
    *,
    tls: ssl.SSLContext | None = None,
    limits: Limits | None = None,
    intake: Intake | None = None,
) -> asyncio.Server:
    """Listen on host:port; STARTTLS offered (not required: senders of bounces may not have it)."""
    handler = InboundHandler(deps, intake or Intake(deps))
    limits = limits or Limits(total=100, per_client=10)
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

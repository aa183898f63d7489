"""The SMTP submission relay: a driving adapter over the core's relay send, built on aiosmtpd.

Clients authenticate with AUTH PLAIN or LOGIN (any user name, an API key as the password), only
after TLS (STARTTLS on a plain port, or implicit TLS). The reply to DATA names the email:
`250 2.0.0 queued as em_...`. The listener's guards (connections, time, commands, failed logins)
are smtp_server/guarded.py's.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from adapters.smtp_relay.replies import reply_for
from adapters.smtp_server.guarded import COMMANDS, IDLE_SECONDS, GuardedSMTP, Limits, check_aiosmtpd, client_of
from autorelay_core.domain.callers import Caller, Via
from autorelay_core.errors import AutoRelayError, Unauthenticated
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.manage_keys import authenticate
from autorelay_core.usecases.relay_message import MAX_RECIPIENTS_FACTOR, max_message_bytes, relay_message

log = logging.getLogger("autorelay.smtp_relay")


AUTH_SECONDS = 20  # from connecting to a successful AUTH: a slot is not held by someone who cannot log in


class RelaySMTP(GuardedSMTP):
    """The guarded listener with API-key AUTH."""

    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._key_check(await super().auth_PLAIN(_, args))

    async def auth_LOGIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._key_check(await super().auth_LOGIN(_, args))

    async def _key_check(self, result: AuthResult) -> AuthResult:
        """aiosmtpd parsed the credentials (its authenticator passes them through); the password
        must be an active API key."""
        if not result.success:
            return result
        client = client_of(self.session)
        if self.limits.auth_blocked(client):
            return AuthResult(success=False, handled=False, message="454 4.7.0 Too many failed logins; try again later")
        credentials = result.auth_data
        password = credentials.password.decode("utf-8", "replace") if isinstance(credentials, LoginPassword) else ""
        try:
            key = await authenticate(self.event_handler.deps, password.strip())
        except Unauthenticated as refused:
            self.limits.auth_failed(client)
            log.info("smtp relay: AUTH refused for %s: %s", client, refused.message)
            return AuthResult(success=False, handled=False, message=f"535 5.7.8 {refused.message}")
        return AuthResult(success=True, auth_data=Caller.for_key(key, via=Via.RELAY))


def _pass_credentials(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    return AuthResult(success=True, auth_data=auth_data)


def _received(server: SMTP, session: Session, hostname: str) -> str:
    """The Received header's value for a message taken in (RFC 5321 4.4): who handed it over
    (their EHLO name and address), to whom, how (ESMTPSA: TLS and AUTH, the relay's only way in)
    and when. One line, made only of what the session knows."""
    helo = "".join(c for c in (session.host_name or "unknown") if c.isprintable() and c not in "()")[:100]
    return (
        f"from {helo} ([{_peer(session)}]) by {hostname} (AutoRelay) with ESMTPSA; {format_datetime(datetime.now(UTC))}"
    )


def _peer(session: Session) -> str:
    peer = session.peer
    return str(peer[0]) if isinstance(peer, tuple) else str(peer)


class RelayHandler:
    def __init__(self, deps: Deps, hostname: str = "localhost") -> None:
        self.deps, self.hostname = deps, hostname

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self.deps.config.max_recipients * MAX_RECIPIENTS_FACTOR:
            return "452 4.5.3 Too many recipients for one message"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        try:
            caller = session.auth_data
            assert isinstance(caller, Caller)  # AUTH is required before MAIL, and it stores the caller
            trace = _received(server, session, self.hostname)
            relayed = await relay_message(self.deps, caller, list(envelope.rcpt_tos), content, trace=trace)
        except AutoRelayError as refused:
            log.info("smtp relay: refused a message from %s: %s", client_of(session), refused.message)
            return reply_for(refused)
        except Exception:
            log.exception("smtp relay: could not accept a message")
            return "451 4.3.0 Temporary server error; try again"
        again = " (already accepted)" if relayed.replayed else ""
        return f"250 2.0.0 queued as {relayed.email_id} {relayed.message_id}{again}"


async def start_relay(
    deps: Deps,
    host: str,
    port: int,
    tls: ssl.SSLContext,
    *,
    implicit_tls: bool = False,
    limits: Limits | None = None,
    hostname: str | None = None,
    auth_within: float = AUTH_SECONDS,
) -> asyncio.Server:
    """Listen on host:port. STARTTLS (required before AUTH and mail) unless `implicit_tls`."""
    check_aiosmtpd(asyncio.get_running_loop())
    handler = RelayHandler(deps, hostname or socket.getfqdn())
    limits = limits or Limits()
    loop = asyncio.get_running_loop()

    def protocol() -> RelaySMTP:
        return RelaySMTP(
            handler,
            limits,
            auth_within=auth_within,
            data_size_limit=max_message_bytes(deps),
            hostname=hostname,
            ident="AutoRelay",
            tls_context=None if implicit_tls else tls,
            require_starttls=not implicit_tls,
            timeout=IDLE_SECONDS,
            auth_required=True,
            auth_require_tls=not implicit_tls,
            authenticator=_pass_credentials,
            command_call_limit=COMMANDS,
            loop=loop,
        )

    return await loop.create_server(protocol, host, port, ssl=tls if implicit_tls else None)

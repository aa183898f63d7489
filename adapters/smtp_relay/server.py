"""The SMTP submission relay: a driving adapter over the core's relay send, built on aiosmtpd.

Clients authenticate with AUTH PLAIN or LOGIN (any user name, an API key as the password), only
after TLS (STARTTLS on a plain port, or implicit TLS). The reply to DATA names the email:
`250 2.0.0 queued as em_...`. The port cannot be used to wear the server down: connections are
limited in all and per client, idle and overall time are bounded, commands and recipients are
counted, and failed AUTH attempts are throttled per client.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import time
from collections import defaultdict, deque
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from adapters.smtp_relay.replies import reply_for
from autorelay_core.domain.callers import Caller, Via
from autorelay_core.errors import AutoRelayError, Unauthenticated
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.manage_keys import authenticate
from autorelay_core.usecases.relay_message import MAX_RECIPIENTS_FACTOR, max_message_bytes, relay_message

log = logging.getLogger("autorelay.smtp_relay")


class _Quieter(logging.Filter):
    """aiosmtpd logs every command at INFO and warns, on every login, that an attribute it sets
    itself is deprecated; our own lines say what matters."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING and "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_Quieter())

IDLE_SECONDS = 60  # between commands (and between lines of DATA)
AUTH_SECONDS = 20  # from connecting to a successful AUTH: a slot is not held by someone who cannot log in
SESSION_SECONDS = 600  # a connection's whole life
MAX_CONNECTIONS = 200
MAX_PER_CLIENT = 20
AUTH_FAILURES = 10  # per client address in AUTH_WINDOW; then every AUTH is refused until it passes
AUTH_WINDOW = 600.0
# Per connection: a kept connection may carry many messages (its life is bounded by SESSION_SECONDS);
# commands that do nothing for delivery may not be repeated without end.
COMMANDS = {
    "MAIL": 100_000,
    "RCPT": 1_000_000,
    "DATA": 100_000,
    "RSET": 100_000,
    "NOOP": 1_000,
    "AUTH": 5,
    "STARTTLS": 2,
    "*": 20,
}


class Limits:
    """Connections in all and per client address, and recent AUTH failures per client, in this
    process (each relay process guards its own sockets)."""

    def __init__(self, total: int = MAX_CONNECTIONS, per_client: int = MAX_PER_CLIENT) -> None:
        self.total, self.per_client = total, per_client
        self.open: dict[str, int] = defaultdict(int)
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def admit(self, client: str) -> bool:
        if sum(self.open.values()) >= self.total or self.open[client] >= self.per_client:
            return False
        self.open[client] += 1
        return True

    def leave(self, client: str) -> None:
        self.open[client] -= 1
        if self.open[client] <= 0:
            del self.open[client]

    def auth_blocked(self, client: str) -> bool:
        recent = self.failures[client]
        while recent and recent[0] < time.monotonic() - AUTH_WINDOW:
            recent.popleft()
        if not recent:
            del self.failures[client]
            return False
        return len(recent) >= AUTH_FAILURES

    def auth_failed(self, client: str) -> None:
        self.failures[client].append(time.monotonic())


def _client(session: Session | None) -> str:
    """Who is counted as one client: the address, and for IPv6 its /64 (one subscriber's network,
    where each of 2**64 addresses would otherwise count apart)."""
    peer = session.peer if session is not None else None
    host = str(peer[0]) if isinstance(peer, tuple) else str(peer)
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RelaySMTP(SMTP):
    """aiosmtpd's SMTP with our admission, lifetime and API-key AUTH."""

    def __init__(
        self,
        handler: Any,
        limits: Limits,
        *,
        max_lines: int | None = None,
        auth_within: float | None = None,
        **options: Any,
    ) -> None:
        super().__init__(handler, **options)
        self.limits = limits
        self._admitted: str | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._auth_within = auth_within
        self._auth_deadline: asyncio.TimerHandle | None = None
        # aiosmtpd reads a message a line at a time on the loop (some microseconds a line), so a
        # message of millions of empty lines costs seconds of the loop: a stranger's mail gets a
        # line budget per message (the handler starts it again after each message).
        self.max_lines = max_lines
        self.lines = 0

    def data_received(self, data: bytes) -> None:
        if self.max_lines is not None and self.transport is not None:
            self.lines += data.count(b"\n")
            if self.lines > self.max_lines:
                self.transport.write(b"552 5.3.4 Too many lines for one message\r\n")  # type: ignore[attr-defined]
                self.transport.close()
                self.max_lines = None  # what is still buffered goes nowhere
                return
        super().data_received(data)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None
        super().connection_made(transport)
        if not first:  # the TLS layer after STARTTLS: the same connection
            return
        client = _client(self.session)
        if not self.limits.admit(client):
            # Refused before the greeting: the client sees this reply and the connection closes.
            transport.write(b"421 4.7.0 Too many connections; try again later\r\n")  # type: ignore[attr-defined]
            transport.close()
            return
        self._admitted = client
        self._deadline = self.loop.call_later(SESSION_SECONDS, transport.close)
        if self._auth_within is not None:
            self._auth_deadline = self.loop.call_later(self._auth_within, self._unauthenticated)

    def _unauthenticated(self) -> None:
        if self.session is not None and self.session.authenticated:
            return
        transport = self.transport  # plain or TLS; uvloop's are not asyncio's classes: duck-typed
        if transport is not None and not transport.is_closing():
            seconds = self._auth_within or 0
            log.info("smtp relay: %s did not authenticate within %g s; closed", self._admitted, seconds)
            transport.write(b"421 4.7.0 Authenticate within %d seconds of connecting\r\n" % seconds)  # type: ignore[attr-defined]
            transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        if self._admitted is not None:
            self.limits.leave(self._admitted)
            self._admitted = None
        for timer in (self._deadline, self._auth_deadline):
            if timer is not None:
                timer.cancel()
        super().connection_lost(error)

    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._key_check(await super().auth_PLAIN(_, args))

    async def auth_LOGIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._key_check(await super().auth_LOGIN(_, args))

    async def _key_check(self, result: AuthResult) -> AuthResult:
        """aiosmtpd parsed the credentials (its authenticator passes them through); the password
        must be an active API key."""
        if not result.success:
            return result
        client = _client(self.session)
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
            log.info("smtp relay: refused a message from %s: %s", _client(session), refused.message)
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

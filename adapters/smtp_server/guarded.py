"""What every SMTP listener of AutoRelay stands on (the submission relay, the returned-mail
listener): aiosmtpd's SMTP server, guarded so that the port cannot be used to wear the server down.
Connections are limited in all and per client, idle and overall time are bounded, commands and
lines are counted, and failed AUTH attempts are throttled per client."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import defaultdict, deque
from typing import Any

from aiosmtpd.smtp import SMTP, Session

log = logging.getLogger("autorelay.smtp")


class _Quieter(logging.Filter):
    """aiosmtpd logs every command at INFO and warns, on every login, that an attribute it sets
    itself is deprecated; our own lines say what matters."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING and "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_Quieter())

SLICE = 8 * 1024  # bytes aiosmtpd reads in one turn of the loop (see GuardedSMTP.data_received)
IDLE_SECONDS = 60  # between commands (and between lines of DATA)
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

    def __init__(
        self, total: int = MAX_CONNECTIONS, per_client: int = MAX_PER_CLIENT, line_rate: float | None = None
    ) -> None:
        """`line_rate`: lines a second all connections together may send (None: no limit)."""
        self.total, self.per_client = total, per_client
        self.open: dict[str, int] = defaultdict(int)
        self.failures: dict[str, deque[float]] = defaultdict(deque)
        self.line_rate = line_rate
        self._lines_due = time.monotonic()  # when the lines taken so far are paid for

    def pace_lines(self, count: int) -> float:
        """Take `count` lines from the shared budget: the seconds to wait before reading more."""
        if self.line_rate is None or count == 0:
            return 0.0
        now = time.monotonic()
        self._lines_due = max(self._lines_due, now) + count / self.line_rate
        # Up to a tenth of a second of lines goes at once: short messages never wait.
        return max(0.0, self._lines_due - now - 0.1)

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


def client_of(session: Session | None) -> str:
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


class GuardedSMTP(SMTP):
    """aiosmtpd's SMTP with our admission (connections in all and per client), a whole-session
    lifetime, a line budget per message and, when asked, a deadline to authenticate by.

    It overrides three asyncio protocol callbacks of aiosmtpd's SMTP (connection_made,
    connection_lost, data_received) and reads its `session`, `transport` and `loop`: not aiosmtpd's
    documented API, so `check_aiosmtpd()` verifies them before any listener starts (pinned <2 in
    pyproject.toml; tests/contract/test_smtp_relay_limits.py exercises each on asyncio and uvloop)."""

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
        self._pending: deque[bytes] = deque()
        self._feeding = False

    def data_received(self, data: bytes) -> None:
        if self.max_lines is None or self.transport is None:
            super().data_received(data)
            return
        self.lines += data.count(b"\n")
        if self.lines > self.max_lines:
            self.transport.write(b"552 5.3.4 Too many lines for one message\r\n")  # type: ignore[attr-defined]
            self.transport.close()
            self.max_lines = None  # what is still buffered goes nowhere
            self._pending.clear()
            return
        # aiosmtpd reads the lines it has without giving the loop back: a 256 KiB read of short
        # lines held the loop (the API's too) for a quarter of a second. It is given slices, one a
        # turn of the loop, at the listener's line rate; the sender waits meanwhile (TCP holds it).
        if not self._feeding and len(data) <= SLICE:  # commands, and a TLS handshake, pass at once
            super().data_received(data)
            self.limits.pace_lines(data.count(b"\n"))
            return
        self._pending.extend(data[i : i + SLICE] for i in range(0, len(data), SLICE))
        if not self._feeding:
            self._feeding = True
            self._feed()

    def _feed(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            self._pending.clear()
            self._feeding = False
            return
        if not self._pending:
            self._feeding = False
            transport.resume_reading()  # type: ignore[attr-defined]
            return
        transport.pause_reading()  # type: ignore[attr-defined]
        chunk = self._pending.popleft()
        super().data_received(chunk)
        wait = self.limits.pace_lines(chunk.count(b"\n"))
        if wait > 0:
            self.loop.call_later(wait, self._feed)
        else:
            self.loop.call_soon(self._feed)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None
        super().connection_made(transport)
        if not first:  # the TLS layer after STARTTLS: the same connection
            return
        client = client_of(self.session)
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
            log.info("smtp: %s did not authenticate within %g s; closed", self._admitted, seconds)
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


# What GuardedSMTP relies on in aiosmtpd's SMTP beyond its documented API: the asyncio protocol
# callbacks it overrides, and the state SMTP.__init__ sets that the overrides read.
_CALLBACKS = ("connection_made", "connection_lost", "data_received")
_STATE = ("session", "transport", "loop")


class AiosmtpdChanged(RuntimeError):
    """This aiosmtpd no longer has what the guards stand on: no listener starts unguarded."""


def check_aiosmtpd(loop: asyncio.AbstractEventLoop, smtp: type[SMTP] = SMTP) -> None:
    """Refuse to start a listener on an aiosmtpd whose SMTP lacks the callbacks and the state the
    guards use: loud and early, at start, rather than a listener without its limits."""
    probe = smtp(_NoHandler(), loop=loop)
    missing = [name for name in _CALLBACKS if not callable(getattr(smtp, name, None))]
    missing += [name for name in _STATE if not hasattr(probe, name)]
    if missing:
        raise AiosmtpdChanged(
            f"aiosmtpd's SMTP has no {', '.join(missing)}: the SMTP listeners' guards need them "
            "(pyproject.toml pins aiosmtpd>=1.4,<2, where they are)"
        )


class _NoHandler:
    """A handler with no hooks: the probe is built, never connected."""

"""The SMTP relay's wiring: its certificate, its listener, and `autorelay smtp-relay` on its own."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from adapters.smtp_relay.certs import fingerprint, self_signed, server_context, wanted_names
from adapters.smtp_relay.server import start_relay
from composition.services import Services
from composition.settings import Settings


def _hostname(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or socket.getfqdn()


def tls_files(settings: Settings) -> tuple[Path, Path, str]:
    """The certificate and key the relay and the inbound listener present, and how it was made
    (for the banner): the operator's, or one made in the data dir for every name a client may use."""
    if settings.smtp_relay_cert:
        return Path(settings.smtp_relay_cert), Path(settings.smtp_relay_key), ""
    listening = [settings.relay_address[0]] if settings.smtp_relay_listen else []
    listening += [settings.inbound_address[0]] if settings.inbound_listen else []
    extra = [n for n in settings.smtp_relay_tls_names.split(",") if n.strip()]
    names = wanted_names(_hostname(settings), listening[0] if listening else "", [*listening[1:], *extra])
    cert, key = self_signed(settings.data_dir, names)
    ca = settings.data_dir / "smtp-relay-ca.pem"
    return cert, key, f"; clients trust {ca} (names: {', '.join(names)})"


async def start_smtp_relay(services: Services, settings: Settings) -> asyncio.Server:
    """Listen where AUTORELAY_SMTP_RELAY_LISTEN says, and print where and with which certificate."""
    hostname = _hostname(settings)
    cert, key, made = tls_files(settings)
    host, port = settings.relay_address
    implicit = settings.smtp_relay_tls == "implicit"
    server = await start_relay(
        services.deps,
        host,
        port,
        server_context(cert, key),
        implicit_tls=implicit,
        hostname=hostname,
        auth_within=settings.smtp_relay_auth_seconds,
    )
    mode = "implicit TLS" if implicit else "STARTTLS required"
    print(f"AutoRelay SMTP relay on {host}:{port} ({mode}; AUTH with any user name and an API key as password)")
    print(f"  certificate SHA-256 {fingerprint(cert)}{made}", flush=True)
    return server


async def start_inbound_listener(services: Services, settings: Settings) -> asyncio.Server:
    """Receive mail where AUTORELAY_INBOUND_LISTEN says: bounces and complaints for the bounce
    domain, and mail for the projects' receiving domains."""
    from adapters.inbound_mail.receiver import Receiver
    from adapters.returned_mail.inbound import start_inbound
    from adapters.returned_mail.intake import Intake

    host, port = settings.inbound_address
    intake = Intake(services.deps, keep_dir=settings.data_dir / "returned-unread")
    authserv_id = services.deps.config.bounce_mx  # the host the MX records name
    receiver = Receiver(services.deps, nameserver=settings.dns_resolver, authserv_id=authserv_id)
    cert, key, _ = tls_files(settings)
    server = await start_inbound(
        services.deps, host, port, intake=intake, receiver=receiver, tls=server_context(cert, key)
    )
    returned = f"bounces and complaints for {settings.bounce_domain}, " if settings.bounce_domain else ""
    print(f"AutoRelay inbound on {host}:{port} (STARTTLS offered): {returned}mail for receiving domains", flush=True)
    return server


class PolledMailbox:
    """The bounce mailbox's polling task, stopped like a listener (close, then wait_closed)."""

    def __init__(self, mailbox, interval: float) -> None:
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(mailbox.run(self._stopping, interval))

    def close(self) -> None:
        self._stopping.set()

    async def wait_closed(self) -> None:
        await self._task


async def start_bounce_mailbox(services: Services, settings: Settings) -> PolledMailbox:
    """Poll AUTORELAY_BOUNCE_IMAP_URL for bounces and complaints."""
    import ssl

    from adapters.returned_mail.mailbox import BounceMailbox

    source = settings.bounce_mailbox
    context = ssl.create_default_context(cafile=settings.bounce_imap_ca_file or None)
    polled = PolledMailbox(BounceMailbox(services.deps, source, context=context), settings.bounce_imap_poll_seconds)
    print(
        f"AutoRelay bounce mailbox {source.describe()}, read every {settings.bounce_imap_poll_seconds:g} s", flush=True
    )
    return polled


async def start_returned_mail(services: Services, settings: Settings) -> list:
    """Whichever ways returned mail comes in that the settings turn on."""
    started: list = []
    if settings.inbound_listen:
        started.append(await start_inbound_listener(services, settings))
    if settings.bounce_imap_url:
        started.append(await start_bounce_mailbox(services, settings))
    return started


def run_inbound(settings: Settings, services: Services) -> None:
    """`autorelay inbound`: the inbound listener and/or the mailbox poller alone, until SIGTERM or
    SIGINT."""
    _listen_until_stopped(services, lambda: start_returned_mail(services, settings))


def run_relay(settings: Settings, services: Services) -> None:
    """`autorelay smtp-relay`: the relay alone (deliveries by this process's consumer, as `serve`
    does, or by `autorelay worker`), until SIGTERM or SIGINT."""

    async def relay() -> list:
        return [await start_smtp_relay(services, settings)]

    _listen_until_stopped(services, relay)


def _listen_until_stopped(services: Services, listen: Callable[[], Awaitable[list]]) -> None:
    async def main() -> None:
        await services.start()
        running = await listen()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        try:
            await stopping.wait()
        finally:
            for server in running:
                server.close()
            for server in running:
                await server.wait_closed()
            await services.stop()

    asyncio.run(main())

"""The SMTP relay's wiring: its certificate, its listener, and `autorelay smtp-relay` on its own."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from adapters.smtp_relay.certs import fingerprint, self_signed, server_context
from adapters.smtp_relay.server import start_relay
from composition.build import Services
from composition.settings import Settings


async def start_smtp_relay(services: Services, settings: Settings) -> asyncio.Server:
    """Listen where AUTORELAY_SMTP_RELAY_LISTEN says, and print where and with which certificate."""
    hostname = urlsplit(settings.base_url).hostname or socket.getfqdn()
    if settings.smtp_relay_cert:
        cert, key, made = Path(settings.smtp_relay_cert), Path(settings.smtp_relay_key), ""
    else:
        cert, key = self_signed(settings.data_dir, hostname)
        made = f", self-signed in {settings.data_dir}"
    host, port = settings.relay_address
    implicit = settings.smtp_relay_tls == "implicit"
    server = await start_relay(
        services.deps, host, port, server_context(cert, key), implicit_tls=implicit, hostname=hostname
    )
    mode = "implicit TLS" if implicit else "STARTTLS required"
    print(f"AutoRelay SMTP relay on {host}:{port} ({mode}; AUTH with any user name and an API key as password)")
    print(f"  certificate SHA-256 {fingerprint(cert)}{made}", flush=True)
    return server


async def start_inbound_listener(services: Services, settings: Settings) -> asyncio.Server:
    """Receive bounces and complaints for the bounce domain where AUTORELAY_INBOUND_LISTEN says."""
    from adapters.smtp_relay.inbound import start_inbound

    host, port = settings.inbound_address
    server = await start_inbound(services.deps, host, port)
    print(f"AutoRelay inbound on {host}:{port}: bounces and complaints for {settings.bounce_domain}", flush=True)
    return server


def run_inbound(settings: Settings, services: Services) -> None:
    """`autorelay inbound`: the listener alone, until SIGTERM or SIGINT."""
    _listen_until_stopped(services, lambda: start_inbound_listener(services, settings))


def run_relay(settings: Settings, services: Services) -> None:
    """`autorelay smtp-relay`: the relay alone (deliveries by this process's consumer, as `serve`
    does, or by `autorelay worker`), until SIGTERM or SIGINT."""
    _listen_until_stopped(services, lambda: start_smtp_relay(services, settings))


def _listen_until_stopped(services: Services, listen: Callable[[], Awaitable[asyncio.Server]]) -> None:
    async def main() -> None:
        await services.start()
        server = await listen()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        try:
            await stopping.wait()
        finally:
            server.close()
            await server.wait_closed()
            await services.stop()

    asyncio.run(main())

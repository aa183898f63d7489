"""The relay's guards against a client that would wear it down, with aiosmtpd and smtplib on
loopback: connections past the limits get 421, repeated failed logins get 454 until the window
passes, a message over the announced SIZE gets 552, and a session has an end."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from contextlib import asynccontextmanager

import pytest
from attrs import evolve

from adapters.smtp_relay import server as relay_server
from adapters.smtp_relay.certs import fingerprint, self_signed, server_context
from adapters.smtp_relay.server import start_relay
from adapters.smtp_server import guarded
from adapters.smtp_server.guarded import Limits
from tests.support import make_deps
from tests.unit.test_send_email import live_key


@asynccontextmanager
async def running(tmp_path, limits: Limits, **config):
    deps = make_deps()
    if config:
        deps = evolve(deps, config=evolve(deps.config, **config))
    cert, key = self_signed(tmp_path, ["relay.test"])
    server = await start_relay(deps, "127.0.0.1", 0, server_context(cert, key), limits=limits)
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    try:
        yield deps, server.sockets[0].getsockname()[1], context
    finally:
        server.close()
        await server.wait_closed()


def greet(port: int, context: ssl.SSLContext) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", port, timeout=10)
    client.starttls(context=context)
    client.ehlo()
    return client


async def test_connections_past_the_limit_are_told_to_come_back(tmp_path):
    async with running(tmp_path, Limits(total=10, per_client=2)) as (_, port, _context):

        def three() -> tuple[int, bytes]:
            first, second = smtplib.SMTP("127.0.0.1", port), smtplib.SMTP("127.0.0.1", port)
            with pytest.raises(smtplib.SMTPConnectError) as refused:
                smtplib.SMTP("127.0.0.1", port, timeout=5)
            first.quit()
            second.quit()
            return refused.value.smtp_code, refused.value.smtp_error

        code, text = await asyncio.to_thread(three)
        assert code == 421 and b"Too many connections" in text
        # Once they are gone, the client is welcome again.
        assert await asyncio.to_thread(lambda: smtplib.SMTP("127.0.0.1", port, timeout=5).quit()[0]) == 221


async def test_failed_logins_are_throttled_per_client(tmp_path, monkeypatch):
    monkeypatch.setattr(guarded, "AUTH_FAILURES", 3)
    async with running(tmp_path, Limits()) as (deps, port, context):
        right = await _plain_key(deps, await live_key(deps))
        wrong = f"ak_live_{'0' * 64}"

        def attempts() -> list[int]:
            codes = []
            for password in (wrong, wrong, wrong, right):
                with greet(port, context) as client:
                    client.user, client.password = "app", password
                    try:
                        client.auth("PLAIN", client.auth_plain)
                        codes.append(235)
                    except smtplib.SMTPAuthenticationError as error:
                        codes.append(error.smtp_code)
            return codes

        # After three failures even the right key waits for the window to pass: guessing gets no further.
        assert await asyncio.to_thread(attempts) == [535, 535, 535, 454]
        monkeypatch.setattr(guarded, "AUTH_WINDOW", 0.0)
        assert await asyncio.to_thread(attempts) == [535, 535, 535, 235]


async def test_a_message_over_the_announced_size_is_refused_with_552(tmp_path):
    async with running(tmp_path, Limits(), max_attachment_bytes=3000) as (deps, port, context):
        key = await live_key(deps)
        limit = relay_server.max_message_bytes(deps)

        def oversized() -> tuple[int, int]:
            with greet(port, context) as client:
                announced = int(client.esmtp_features["size"])
                client.login("app", key_plain)
                client.mail("a@app.example")
                client.rcpt("ann@example.com")
                body = (b"x" * 76 + b"\r\n") * (limit // 78 + 2)
                code, _ = client.data(b"From: news@acme.test\r\nTo: ann@example.com\r\n\r\n" + body)
                return announced, code

        key_plain = await _plain_key(deps, key)
        announced, code = await asyncio.to_thread(oversized)
        assert announced == limit and code == 552


async def _plain_key(deps, key) -> str:
    from autorelay_core.domain.keys import KeyMode
    from autorelay_core.usecases.manage_keys import create_key

    return (await create_key(deps, key, KeyMode.LIVE)).plain


def test_the_self_signed_certificate_is_made_once_and_its_key_kept_private(tmp_path):
    cert, key = self_signed(tmp_path, ["relay.test"])
    assert (key.stat().st_mode & 0o777) == 0o600
    printed = fingerprint(cert)
    assert self_signed(tmp_path, ["relay.test"]) == (cert, key) and fingerprint(cert) == printed
    assert len(printed.split(":")) == 32


async def test_no_listener_starts_on_an_aiosmtpd_without_what_its_guards_stand_on():
    from aiosmtpd.smtp import SMTP

    guarded.check_aiosmtpd(asyncio.get_running_loop())  # this aiosmtpd has them

    class Changed(SMTP):  # a release whose SMTP stopped keeping its transport
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            del self.transport

    with pytest.raises(guarded.AiosmtpdChanged, match=r"no transport.*aiosmtpd>=1\.4,<2"):
        guarded.check_aiosmtpd(asyncio.get_running_loop(), Changed)

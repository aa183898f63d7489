"""Second pass, the SMTP relay (#32 items 5 and 6), against a real server: connections that never
log in cannot hold a client's slots, and a message with a header the API refuses (Sender,
Resent-From, a second From written `From :`) is refused with the header named, while one with
ordinary headers leaves with one From, DKIM-signed."""

from __future__ import annotations

import email
import email.policy
import smtplib
import socket
import ssl
import time

import dkim
import pytest

from tests.e2e.server import Server, wait_for
from tests.e2e.test_smtp_relay import signed_relay


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    with signed_relay(tmp_path_factory.mktemp("relay2"), {"AUTORELAY_SMTP_RELAY_AUTH_SECONDS": "2"}) as running:
        yield running


def _logged_in(server: Server, port: int) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=str(server.data_dir / "smtp-relay-cert.pem"))
    context.check_hostname = False
    client = smtplib.SMTP("127.0.0.1", port, timeout=30)
    client.starttls(context=context)
    client.login("app", server.keys["live"])
    return client


def test_connections_that_never_log_in_lose_their_slots(relay):
    server, _, _, port = relay
    held = []
    for _ in range(20):  # every slot one client address may have
        sock = socket.create_connection(("127.0.0.1", port))
        assert sock.recv(512).startswith(b"220")
        held.append(sock)
    with socket.create_connection(("127.0.0.1", port)) as refused:
        assert refused.recv(512).startswith(b"421"), "the 21st is refused while the slots are held"
    started = time.monotonic()
    for sock in held:  # a NOOP now and then would keep them past the idle timeout, not past AUTH's
        sock.sendall(b"NOOP\r\n")
    closed = []
    for sock in held:
        sock.settimeout(10)
        data = b""
        while chunk := sock.recv(512):
            data += chunk
        closed.append(data)
        sock.close()
    assert all(b"421 4.7.0 Authenticate within 2 seconds" in data for data in closed)
    assert time.monotonic() - started < 6
    with _logged_in(server, port) as client:
        assert client.noop()[0] == 250, "a real client gets in once the slots are freed"
        time.sleep(2.5)
        assert client.noop()[0] == 250, "the deadline is for logging in, not for a logged-in client"


HEAD = "From: News <news@signed.test>\r\nTo: ann@example.com\r\nSubject: s\r\n"


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("Sender: ceo@bank.example\r\n", "Sender"),
        ("Resent-From: ceo@bank.example\r\n", "Resent-From"),
        ("From : CEO <ceo@bank.example>\r\n", "'From'"),
        ("From: other@signed.test\r\n", "From header appears twice"),
    ],
)
def test_a_header_the_api_refuses_is_refused_by_name(relay, extra, named):
    server, sink, _, port = relay
    before = len(sink.messages)
    with _logged_in(server, port) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("news@signed.test", ["ann@example.com"], HEAD + extra + "\r\nbody\r\n")
    assert refused.value.smtp_code == 550 and named in refused.value.smtp_error.decode()
    time.sleep(0.5)
    assert len(sink.messages) == before


def test_a_message_with_ordinary_headers_leaves_with_one_signed_from(relay):
    server, sink, dns_server, port = relay
    before = len(sink.messages)
    with _logged_in(server, port) as client:
        client.sendmail("news@signed.test", ["ann@example.com"], HEAD + "X-Order: 7\r\n\r\nbody\r\n")
    assert wait_for(lambda: len(sink.messages) > before, 20)
    raw = sink.messages[-1].original_content
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message.get_all("From") == ["News <news@signed.test>"]
    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: dns_server.txt(name))

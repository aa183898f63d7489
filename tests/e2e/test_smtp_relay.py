"""The SMTP submission relay as applications use it: Python's smtplib and aiosmtplib over STARTTLS
with an API key as the password, delivering through AutoRelay to a real SMTP server on loopback
(DKIM-signed for a domain verified against a real DNS server), and every refusal a client meets."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import smtplib
import ssl
import time
from contextlib import contextmanager
from email.message import EmailMessage

import aiosmtplib
import dkim
import pytest

from tests.dns_server import DnsServer
from tests.e2e.server import Server, autorelay, free_port, new_project, wait_for
from tests.smtp_sink import Sink

pytestmark = pytest.mark.e2e
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


def message(subject: str, *, message_id: str | None = None, sender="News <news@signed.test>") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "Ann <ann@example.com>"
    mail["Cc"] = "cy@example.com"
    mail["Bcc"] = "secret@example.com"
    mail["Subject"] = subject
    mail["X-Order"] = "1042"
    if message_id:
        mail["Message-ID"] = message_id
    mail.set_content("Your invoice is attached.")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
    return mail


RECIPIENTS = ["ann@example.com", "cy@example.com", "secret@example.com"]


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    with signed_relay(tmp_path_factory.mktemp("relay")) as running:
        yield running


@contextmanager
def signed_relay(folder, extra: dict[str, str] | None = None):
    """A server running the relay, delivering to a Sink, with signed.test verified against a real
    DNS server: (server, sink, dns_server, relay port)."""
    with Sink() as sink, DnsServer() as dns_server:
        port = free_port()
        settings = sink.server_settings(folder) | {
            "AUTORELAY_DNS_RESOLVER": dns_server.address,
            "AUTORELAY_SMTP_RELAY_LISTEN": f"127.0.0.1:{port}",
        }
        server = Server(folder / "data", settings | (extra or {})).start()
        try:
            with server.client(server.keys["live"]) as api:
                domain = api.post("/domains", json={"domain": "signed.test"}).json()
                for record in api.get(f"/domains/{domain['id']}").json()["dns_records"]:
                    dns_server.publish(record["type"], record["name"], record["value"])
                assert api.post(f"/domains/{domain['id']}/verify").json()["status"] == "verified"
            yield server, sink, dns_server, port
        finally:
            server.stop()


def tls_context(server: Server) -> ssl.SSLContext:
    """Trust the relay's self-signed certificate (pinned: the one file it made in the data dir)."""
    context = ssl.create_default_context(cafile=str(server.data_dir / "smtp-relay-cert.pem"))
    context.check_hostname = False
    return context


def connect(server: Server, port: int) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", port, timeout=30)
    client.ehlo("app.example")
    client.starttls(context=tls_context(server))
    client.ehlo("app.example")
    return client


def submit(client: smtplib.SMTP, mail: EmailMessage, recipients=RECIPIENTS) -> tuple[int, str]:
    """MAIL, RCPT and DATA by hand (smtplib's sendmail would hide the reply to DATA); the Bcc header
    is sent as a careless client would, for the relay to drop."""
    client.mail("bounces@app.example")
    for address in recipients:
        assert client.rcpt(address)[0] == 250
    code, reply = client.data(mail.as_bytes(policy=email.policy.SMTP))
    return code, reply.decode()


def arrived(sink: Sink, message_id: str) -> email.message.EmailMessage | None:
    for envelope in sink.messages:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        if parsed["Message-ID"] == message_id:
            return envelope
    return None


def test_smtplib_sends_an_attachment_and_a_bcc_that_arrive_signed_and_as_written(relay):
    server, sink, dns_server, port = relay
    printed = re.search(r"certificate SHA-256 ([0-9A-F:]{95})", server.log.read_text())
    assert printed, "serve prints the relay's certificate fingerprint"
    with connect(server, port) as client:
        assert "auth" in client.esmtp_features and "PLAIN" in client.esmtp_features["auth"]
        assert int(client.esmtp_features["size"]) >= 13 * 1024 * 1024
        client.login("any-user-name", server.keys["live"])
        code, reply = submit(client, message("Invoice 1042"))
    assert code == 250, reply
    email_id = re.search(r"queued as (em_\w+)", reply).group(1)

    with server.client(server.keys["live"]) as api:
        assert wait_for(lambda: api.get(f"/emails/{email_id}").json()["email"]["status"] == "sent", 15)
        stored = api.get(f"/emails/{email_id}").json()["email"]
    envelope = wait_for(
        lambda: arrived(sink, stored["messageId"] if "messageId" in stored else stored["message_id"]), 5
    )
    assert envelope is not None, "the message never reached the SMTP server behind AutoRelay"
    assert sorted(envelope.rcpt_tos) == sorted(RECIPIENTS), "the Bcc recipient is in the envelope"
    raw = envelope.original_content
    delivered = email.message_from_bytes(raw, policy=email.policy.default)
    assert delivered["Bcc"] is None and b"secret@example.com" not in raw, "never in the headers"
    assert delivered["X-Order"] == "1042" and delivered["Subject"] == "Invoice 1042"
    (attachment,) = list(delivered.iter_attachments())
    assert attachment.get_filename() == "invoice.pdf" and attachment.get_content() == PDF
    assert "d=signed.test" in delivered["DKIM-Signature"]
    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: dns_server.txt(name))


def test_aiosmtplib_sends_through_the_relay_too(relay):
    server, _, _, port = relay

    async def send() -> tuple[dict, str]:
        return await aiosmtplib.send(
            message("From aiosmtplib"),
            hostname="127.0.0.1",
            port=port,
            start_tls=True,
            tls_context=tls_context(server),
            username="app",
            password=server.keys["live"],
        )

    refused, reply = asyncio.run(send())
    assert refused == {} and "queued as em_" in reply
    email_id = re.search(r"queued as (em_\w+)", reply).group(1)
    with server.client(server.keys["live"]) as api:
        assert wait_for(lambda: api.get(f"/emails/{email_id}").json()["email"]["status"] == "sent", 15)
        listed = [e["id"] for e in api.get("/emails", params={"order": "desc"}).json()["emails"]]
    assert email_id in listed


def test_a_test_key_delivers_to_the_log_and_the_same_message_id_sends_once(relay):
    server, sink, _, port = relay
    before = len(sink.messages)
    with connect(server, port) as client:
        client.login("app", server.keys["test"])
        mail = message("Test mode", message_id="<retry-1@app.example>", sender="anyone@anywhere.example")
        code, first = submit(client, mail)
        client.rset()
        again_code, again = submit(client, mail)  # a retry after a lost reply: the same bytes
    assert code == again_code == 250
    email_id = re.search(r"queued as (em_\w+)", first).group(1)
    assert f"queued as {email_id}" in again and "already accepted" in again
    path = server.data_dir / "mail" / f"{email_id}.eml"
    assert wait_for(path.exists, 15), "a test key's mail goes to the log mailer"
    logged = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert logged["Subject"] == "Test mode" and logged["Bcc"] is None
    # Its own Message-ID is kept (apps thread replies by it) and named in the reply beside ours.
    assert logged["Message-ID"] == "<retry-1@app.example>" and "<retry-1@app.example>" in first
    assert re.fullmatch(
        r"from app\.example \(\[127\.0\.0\.1\]\) by \S+ \(AutoRelay\) with ESMTPSA; .+", logged["Received"]
    )
    time.sleep(0.5)
    assert len(sink.messages) == before, "nothing of a test key's reaches the real SMTP server"
    with server.client(server.keys["test"]) as api:
        same = [e for e in api.get("/emails", params={"limit": 100}).json()["emails"] if e["subject"] == "Test mode"]
    assert len(same) == 1


def test_refusals_a_client_meets(relay):
    server, _, _, port = relay
    # No AUTH offered, and none taken, before STARTTLS.
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as plain:
        plain.ehlo("app.example")
        assert "auth" not in plain.esmtp_features and "starttls" in plain.esmtp_features
        code, _ = plain.docmd("AUTH", "PLAIN AGFwcABha19saXZlX3g=")
        assert code == 530
        assert plain.mail("bounces@app.example")[0] == 530
    # A wrong key: 535 with the reason; mail without AUTH: 530.
    with connect(server, port) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
            client.login("app", "ak_live_" + "0" * 64)
        assert wrong.value.smtp_code == 535 and b"Invalid API key" in wrong.value.smtp_error
        assert client.mail("bounces@app.example")[0] == 530
    # An unverified sender: 553 naming the domain.
    with connect(server, port) as client:
        client.login("app", server.keys["live"])
        code, reply = submit(client, message("Unverified", sender="x@unverified.example"))
        assert code == 553 and "unverified.example" in reply


def test_the_send_limit_answers_451_with_the_retry_time(relay):
    server, _, _, port = relay
    slow = new_project(server.data_dir, "slow-relay", lift=False)
    autorelay(server.data_dir, "limits", "set", "POST /api/v1/emails", "2/min", "--project", "slow-relay")
    time.sleep(1.2)  # limit overrides are cached for a second
    with connect(server, port) as client:
        client.login("app", slow["live"])
        codes = []
        for n in range(3):
            code, reply = submit(client, message(f"Limited {n}", sender="news@acme.test"))
            codes.append(code)
            client.rset()
    assert codes == [250, 250, 451], codes
    assert re.search(r"retry in \d+ s", reply), reply

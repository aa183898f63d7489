"""AutoRelay against mail software nobody here wrote: a private Postfix (Debian's) as the server the
SMTP mailer delivers to, with PIPELINING, STARTTLS with a test CA and SASL AUTH, driven through
`autorelay serve` exactly as the README starts it (uvloop) and through `autorelay worker` (asyncio's
loop). Every message lands in Postfix's mailbox, DKIM verifying; Postfix's own refusal of a
recipient comes back as a bounce."""

from __future__ import annotations

import email
import email.policy

import dkim
import pytest

from tests.bounce_messages import BOUNCES
from tests.dns_server import DnsServer
from tests.e2e.server import Server, Worker, free_port, wait_for
from tests.postfix import HOSTNAME, PASSWORD, USER, Postfix

pytestmark = pytest.mark.e2e


def _settings(mx: Postfix, dns_server: DnsServer, security: str = "starttls") -> dict[str, str]:
    if security == "none":  # a Postfix on the same host or network, plain and without AUTH
        login = {"AUTORELAY_SMTP_SECURITY": "none"}
    else:
        login = {
            "AUTORELAY_SMTP_SECURITY": security,
            "AUTORELAY_SMTP_USERNAME": f"{USER}@{HOSTNAME}",
            "AUTORELAY_SMTP_PASSWORD": PASSWORD,
            "AUTORELAY_SMTP_CA_FILE": mx.ca_file(),
        }
    return {
        "AUTORELAY_MAILER": "smtp",
        "AUTORELAY_SMTP_HOST": "127.0.0.1",
        "AUTORELAY_SMTP_PORT": str(mx.port),
        "AUTORELAY_DNS_RESOLVER": dns_server.address,
    } | login


def _verify_domain(server: Server, dns_server: DnsServer, name: str) -> None:
    with server.client(server.keys["live"]) as api:
        domain = api.post("/domains", json={"domain": name}).json()
        for record in api.get(f"/domains/{domain['id']}").json()["dns_records"]:
            dns_server.publish(record["type"], record["name"], record["value"])
        assert api.post(f"/domains/{domain['id']}/verify").json()["status"] == "verified"


def _send_and_check(server: Server, mx: Postfix, dns_server: DnsServer, count: int) -> None:
    with server.client(server.keys["live"]) as api:
        ids = []
        for n in range(count):
            to = [f"reader{n}@example.com"] + ([f"second{n}@example.com"] if n % 3 == 0 else [])
            body = {"to": to, "from": "News <news@mta.test>", "subject": f"n{n}", "html": f"<p>Hello {n}</p>"}
            answer = api.post("/emails", json=body)
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["id"])
        expected = count + len(range(0, count, 3))
        arrived = wait_for(lambda: len(mx.delivered()) >= expected, 60)
        assert arrived, f"{len(mx.delivered())} of {expected} reached Postfix's mailbox:\n{mx.log()[-3000:]}"
        statuses = {api.get(f"/emails/{i}").json()["email"]["status"] for i in ids}
        assert statuses == {"sent"}
    for raw in mx.delivered():
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert message["Subject"].startswith("n") and "d=mta.test" in message["DKIM-Signature"]
        signed = raw.split(b"\n", 1)[1] if raw.startswith(b"Return-Path") else raw
        assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: dns_server.txt(name)), message["Subject"]
    assert "PIPELINING" in mx.ehlo_features(), "the point of this test: a server that pipelines"


@pytest.mark.parametrize("security", ["starttls", "none"])
def test_serve_delivers_to_postfix_dkim_signed(tmp_path, security):
    with Postfix(virtual_domains="example.com") as mx, DnsServer() as dns_server:
        server = Server(tmp_path / "data", _settings(mx, dns_server, security)).start()
        try:
            _verify_domain(server, dns_server, "mta.test")
            _send_and_check(server, mx, dns_server, 30)
            if security == "starttls":
                assert "sasl_username=autorelay" in mx.log() and "TLS connection established" in mx.log()
        finally:
            server.stop()


def test_a_worker_delivers_to_postfix_too(tmp_path):
    with Postfix(virtual_domains="example.com") as mx, DnsServer() as dns_server:
        settings = _settings(mx, dns_server) | {"AUTORELAY_EMBEDDED_WORKERS": "0"}
        server = Server(tmp_path / "data", settings).start()
        worker = Worker(tmp_path / "data", settings).start()
        try:
            _verify_domain(server, dns_server, "mta.test")
            _send_and_check(server, mx, dns_server, 12)
        finally:
            worker.stop()
            server.stop()


def test_a_recipient_postfix_refuses_is_a_bounce(tmp_path):
    with Postfix(virtual_domains="example.com", refuse=("gone@example.com",)) as mx, DnsServer() as dns_server:
        server = Server(tmp_path / "data", _settings(mx, dns_server)).start()
        try:
            _verify_domain(server, dns_server, "mta.test")
            with server.client(server.keys["live"]) as api:
                body = {"to": "gone@example.com", "from": "news@mta.test", "subject": "s", "html": "<p>x</p>"}
                sent = api.post("/emails", json=body).json()["id"]
                assert wait_for(lambda: api.get(f"/emails/{sent}").json()["email"]["status"] == "bounced", 30)
                event = api.get(f"/emails/{sent}").json()["events"][-1]
                assert "550" in event["reason"] and "no such user here" in event["reason"]
                assert api.get("/suppressions").json()["data"][0]["email"] == "gone@example.com"
        finally:
            server.stop()


def _bounced(server: Server, to: str, timeout: float = 60) -> dict:
    """Send to `to` through Postfix; the email, once Postfix's own DSN has made it `bounced`."""
    with server.client(server.keys["live"]) as api:
        body = {"to": to, "from": "news@acme.test", "subject": "to a user Postfix lacks", "html": "<p>x</p>"}
        sent = api.post("/emails", json=body).json()["id"]
        done = wait_for(lambda: api.get(f"/emails/{sent}").json()["email"]["status"] == "bounced", timeout)
        answer = api.get(f"/emails/{sent}").json()
        assert done, f"not bounced: {answer['email']['status']}"
        assert [s["email"] for s in api.get("/suppressions").json()["data"]] == [to]
        return answer


def test_postfixs_own_dsn_comes_back_to_the_inbound_listener_over_starttls(tmp_path):
    inbound = free_port()
    data = tmp_path / "data"
    mx = Postfix(
        transport=f"{BOUNCES} smtp:[127.0.0.1]:{inbound}\n",
        # The bounce goes back only over TLS, verified against AutoRelay's own CA.
        extra=f"smtp_tls_security_level = encrypt\nsmtp_tls_CAfile = {data / 'smtp-relay-ca.pem'}\n",
    )
    with DnsServer() as dns_server:
        settings = _settings(mx, dns_server) | {
            "AUTORELAY_BOUNCE_DOMAIN": BOUNCES,
            "AUTORELAY_INBOUND_LISTEN": f"127.0.0.1:{inbound}",
        }
        server = Server(data, settings).start()
        try:
            with mx:
                answer = _bounced(server, "nosuchuser@mx.test")
                reason = answer["events"][-1]["reason"]
                assert "5.1.1" in reason and "unknown user" in reason, reason
                assert "TLS connection established to 127.0.0.1" in mx.log()
        finally:
            server.stop()


def test_postfixs_own_dsn_reaches_the_imap_reader_through_dovecot(tmp_path):
    from tests.imap_server import USER as IMAP_USER
    from tests.imap_server import Dovecot

    with Dovecot() as imap, DnsServer() as dns_server:
        owner = (imap.root / "mail").stat()
        mx = Postfix(
            transport=f"{BOUNCES} virtual:\n",
            virtual_domains=BOUNCES,
            mailbox=(imap.root / "mail", f"{IMAP_USER}/", owner.st_uid, owner.st_gid),
        )
        ca = tmp_path / "imap-ca.pem"
        imap.ca.cert_pem.write_to_path(str(ca))
        settings = _settings(mx, dns_server) | {
            "AUTORELAY_BOUNCE_DOMAIN": BOUNCES,
            "AUTORELAY_BOUNCE_IMAP_URL": imap.url(),
            "AUTORELAY_BOUNCE_IMAP_CA_FILE": str(ca),
            "AUTORELAY_BOUNCE_IMAP_POLL_SECONDS": "0.5",
        }
        server = Server(tmp_path / "data", settings).start()
        try:
            with mx:
                answer = _bounced(server, "nosuchuser@mx.test")
                assert "unknown user" in answer["events"][-1]["reason"]
                assert imap.count("INBOX", "KEYWORD $AutoRelayDone") == 1
        finally:
            server.stop()

"""One send through the HTTP API per mailer, found at the other end: the log mailer's file, or the
SMTP server on loopback (STARTTLS, AUTH) that the server was pointed at."""

from __future__ import annotations

import email
import email.policy
from contextlib import contextmanager

import pytest

from tests.e2e.server import Server, wait_for
from tests.smtp_sink import Sink

pytestmark = pytest.mark.e2e


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


@contextmanager
def log_mailer(tmp_path):
    server = Server(tmp_path / "log").start()

    def received(answer: dict) -> bytes | None:
        path = server.data_dir / "mail" / f"{answer['id']}.eml"
        return path.read_bytes() if path.exists() else None

    try:
        yield server, received
    finally:
        server.stop()


@contextmanager
def smtp_mailer(tmp_path):
    with Sink() as sink:
        server = Server(tmp_path / "smtp", sink.server_settings(tmp_path)).start()

        def received(answer: dict) -> bytes | None:
            found = [
                e.original_content
                for e in sink.messages
                if parse(e.original_content)["Message-ID"] == answer["messageId"]
            ]
            return found[0] if found else None

        try:
            yield server, received
        finally:
            server.stop()


@contextmanager
def ses_mailer(tmp_path):
    from tests.ses_server import CREDENTIALS, SesServer

    with SesServer() as ses:
        ses.verify_identity("acme.test")
        settings = {"AUTORELAY_MAILER": "ses", "AUTORELAY_SES_ENDPOINT_URL": ses.url, **CREDENTIALS}
        server = Server(tmp_path / "ses", settings).start()

        def received(answer: dict) -> bytes | None:
            for message in ses.sent_messages():
                if parse(message["RawData"].encode())["Message-ID"] == answer["messageId"]:
                    return message["RawData"].encode()
            return None

        try:
            yield server, received
        finally:
            server.stop()


@pytest.mark.parametrize("mailer", [log_mailer, smtp_mailer, ses_mailer], ids=["log", "smtp", "ses"])
def test_a_send_through_the_api_arrives_at_the_other_end(tmp_path, mailer):
    with mailer(tmp_path) as (server, received), server.client(server.keys["live"]) as client:
        body = {"to": "reader@example.com", "from": "Acme <news@acme.test>", "subject": "Über the wire"}
        answer = client.post("/emails", json=body | {"html": "<p>Hello <b>there</b></p>"}).json()
        raw = wait_for(lambda: received(answer), 15)
        assert raw, "the message never arrived"
        message = parse(raw)
        assert message["Message-ID"] == answer["messageId"] and message["Subject"] == "Über the wire"
        assert message.get_body(("plain",)).get_content().strip().startswith("Hello")
        status = client.get(f"/emails/{answer['id']}").json()["email"]["status"]
        assert wait_for(lambda: client.get(f"/emails/{answer['id']}").json()["email"]["status"] == "sent", 5), status


def test_a_hard_bounce_is_suppressed_listed_and_can_be_lifted(tmp_path):
    with Sink() as sink:
        server = Server(tmp_path / "bounce", sink.server_settings(tmp_path)).start()
        try:
            with server.client(server.keys["live"]) as client:
                body = {"to": "gone@example.com", "from": "news@acme.test", "subject": "s", "html": "<p>x</p>"}
                sink.plans["gone@example.com"] = ["550 5.1.1 <gone@example.com>: Recipient address rejected"]

                def status(email_id: str) -> str:
                    return client.get(f"/emails/{email_id}").json()["email"]["status"]

                first = client.post("/emails", json=body).json()["id"]
                assert wait_for(lambda: status(first) == "bounced", 10), status(first)
                listed = client.get("/suppressions").json()
                assert [(s["email"], s["reason"]) for s in listed["data"]] == [("gone@example.com", "bounce")]
                second = client.post("/emails", json=body).json()["id"]
                assert wait_for(lambda: status(second) == "failed", 10)
                assert "suppressed" in client.get(f"/emails/{second}").json()["email"]["lastError"]
                assert len(sink.messages) == 0
                assert client.delete("/suppressions/GONE@example.com").json() == {
                    "email": "GONE@example.com",
                    "deleted": True,
                }
                assert client.delete("/suppressions/gone@example.com").status_code == 404
                third = client.post("/emails", json=body).json()["id"]
                assert wait_for(lambda: status(third) == "sent", 10)
        finally:
            server.stop()


def test_a_domain_verified_through_dns_signs_its_mail_with_dkim(tmp_path):
    import dkim

    from tests.dns_server import DnsServer

    with Sink() as sink, DnsServer() as dns_server:
        settings = sink.server_settings(tmp_path) | {"AUTORELAY_DNS_RESOLVER": dns_server.address}
        server = Server(tmp_path / "dkim", settings).start()
        try:
            with server.client(server.keys["live"]) as client:
                created = client.post("/domains", json={"domain": "signed.test"})
                assert created.status_code == 201, created.text
                domain = created.json()
                assert domain["status"] == "pending" and len(domain["dkimTokens"]) == 1
                read = client.get(f"/domains/{domain['id']}").json()
                kinds = [(r["type"], r["name"].split(".")[0]) for r in read["dns_records"]]
                assert kinds == [("TXT", domain["dkimTokens"][0]), ("TXT", "signed"), ("TXT", "_dmarc")]

                body = {"to": "reader@example.com", "from": "News <news@signed.test>", "subject": "Signed"}
                body["html"] = "<p>Signed mail</p>"
                refused = client.post("/emails", json=body)
                assert refused.status_code == 400 and "signed.test" in refused.json()["error"]
                pending = client.post(f"/domains/{domain['id']}/verify").json()
                assert pending["status"] == "pending" and len(pending["missing_records"]) == 3

                for record in read["dns_records"]:
                    dns_server.publish(record["type"], record["name"], record["value"])
                verified = client.post(f"/domains/{domain['id']}/verify").json()
                assert verified == {"status": "verified", "domain": "signed.test", "missing_records": []}
                assert client.get("/domains").json()["data"][0]["verified_at"] is not None

                answer = client.post("/emails", json=body).json()
                raw = wait_for(lambda: next((m.original_content for m in sink.messages), None), 15)
            assert raw is not None, "the message never arrived"
            message = parse(raw)
            assert message["Message-ID"] == answer["messageId"]
            assert message.get_content_type() == "multipart/alternative"
            signature = message["DKIM-Signature"]
            assert f"s={domain['dkimTokens'][0]}" in signature and "d=signed.test" in signature
            signed = {h.strip().lower() for h in signature.split("h=")[1].split(";")[0].split(":")}
            assert {"from", "to", "subject", "date", "message-id"} <= signed
            assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: dns_server.txt(name))
            assert not dkim.verify(
                raw.replace(b"Signed mail", b"Forged mail"), dnsfunc=lambda n, timeout=5: dns_server.txt(n)
            )

            # Campaign mail: the unsubscribe headers are there and signed.
            with server.client(server.keys["live"]) as client:
                target = client.post("/lists", json={"name": "Readers"}).json()["id"]
                rows = [{"email": f"r{i}@example.com"} for i in range(2)]
                client.post("/contacts/import", json={"listId": target, "contacts": rows})
                draft = {"name": "N", "subject": "Campaign", "fromEmail": "news@signed.test", "listId": target}
                campaign = client.post("/campaigns", json=draft | {"content": "<p>Campaign mail</p>"}).json()
                assert client.post(f"/campaigns/{campaign['id']}/launch").status_code == 200
                assert wait_for(lambda: len(sink.messages) == 3, 15), "the campaign's two messages never arrived"
            for envelope in sink.messages[1:]:
                raw = envelope.original_content
                message = parse(raw)
                assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
                assert "<http://127.0.0.1:" in message["List-Unsubscribe"] and "<mailto:" in message["List-Unsubscribe"]
                signature = message["DKIM-Signature"]
                signed = {h.strip().lower() for h in signature.split("h=")[1].split(";")[0].split(":")}
                assert {"list-unsubscribe", "list-unsubscribe-post"} <= signed
                assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: dns_server.txt(name))
                forged = raw.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Never")
                assert forged != raw and not dkim.verify(forged, dnsfunc=lambda n, timeout=5: dns_server.txt(n))
        finally:
            server.stop()

"""One send through the HTTP API per mailer, found at the other end: the log mailer's file, or the
SMTP server on loopback (STARTTLS, AUTH) that the server was pointed at."""

from __future__ import annotations

import email
import email.policy
from contextlib import contextmanager

import pytest

from tests.e2e.server import Server, wait_for
from tests.smtp_sink import PASSWORD, USER, Sink

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
        settings = {
            "AUTORELAY_MAILER": "smtp",
            "AUTORELAY_SMTP_HOST": "127.0.0.1",
            "AUTORELAY_SMTP_PORT": str(sink.port),
            "AUTORELAY_SMTP_SECURITY": "starttls",
            "AUTORELAY_SMTP_USERNAME": USER,
            "AUTORELAY_SMTP_PASSWORD": PASSWORD,
            "AUTORELAY_SMTP_CA_FILE": sink.ca_file(tmp_path),
        }
        server = Server(tmp_path / "smtp", settings).start()

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


@pytest.mark.parametrize("mailer", [log_mailer, smtp_mailer], ids=["log", "smtp"])
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
        settings = {
            "AUTORELAY_MAILER": "smtp",
            "AUTORELAY_SMTP_HOST": "127.0.0.1",
            "AUTORELAY_SMTP_PORT": str(sink.port),
            "AUTORELAY_SMTP_USERNAME": USER,
            "AUTORELAY_SMTP_PASSWORD": PASSWORD,
            "AUTORELAY_SMTP_CA_FILE": sink.ca_file(tmp_path),
        }
        server = Server(tmp_path / "bounce", settings).start()
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

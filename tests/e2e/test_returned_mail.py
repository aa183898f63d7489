"""The deliverability loop with real parts: AutoRelay delivers over SMTP to a receiving MTA on
loopback with VERP return paths; DSNs and an ARF complaint come back to AutoRelay's inbound
listener; the recipients are suppressed, the emails show bounced and complained with the diagnostic,
webhooks fire once, a soft bounce is only an event, a forged bounce changes nothing, and the project
crossing 2 % hard bounces over the minimum volume is flagged."""

from __future__ import annotations

import smtplib

import pytest

from tests.bounce_messages import BOUNCES, arf, dsn
from tests.e2e.server import Server, free_port, wait_for
from tests.smtp_sink import Sink
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e


def send_back(port: int, recipient: str, message: bytes) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("mx.example.com")
        client.mail("")
        code, reply = client.rcpt(recipient)
        if code != 250:
            return code, reply
        return client.data(message)


def test_dsns_and_a_complaint_come_back_and_close_the_loop(tmp_path):
    inbound = free_port()
    with Sink() as sink, Receiver() as receiver:
        settings = sink.server_settings(tmp_path) | {
            "AUTORELAY_BOUNCE_DOMAIN": BOUNCES,
            "AUTORELAY_INBOUND_LISTEN": f"127.0.0.1:{inbound}",
            "AUTORELAY_REPUTATION_MIN_VOLUME": "10",
            "AUTORELAY_WEBHOOKS_ALLOW_PRIVATE": "1",
        }
        server = Server(tmp_path / "data", settings).start()
        try:
            with server.client(server.keys["live"]) as api:
                domain = api.post("/domains", json={"domain": "listed.example"}).json()
                records = api.get(f"/domains/{domain['id']}").json()["bounce_dns_records"]
                # The public URL's host is an address: the MX names a host, and an A record gives it.
                assert [(r["type"], r["name"]) for r in records] == [
                    ("MX", BOUNCES),
                    ("A", f"mx.{BOUNCES}"),
                    ("TXT", BOUNCES),
                ]
                assert records[0]["value"] == f"10 mx.{BOUNCES}." and records[1]["value"] == "127.0.0.1"
                assert records[2]["value"].startswith("v=spf1")
                hook = {"url": receiver.url("/loop"), "events": ["email.bounced", "email.complained"]}
                assert api.post("/webhooks", json=hook).status_code == 201
                ids = {}
                for n in range(20):
                    body = {"to": f"r{n}@example.com", "from": "news@acme.test", "subject": f"n{n}", "html": "<p>x</p>"}
                    ids[f"r{n}@example.com"] = api.post("/emails", json=body).json()["id"]
                assert wait_for(lambda: len(sink.messages) >= 20, 20)
                paths = {e.rcpt_tos[0]: e.mail_from for e in sink.messages}
                assert all(p.startswith("b+em_") and p.endswith(f"@{BOUNCES}") for p in paths.values())
                assert paths["r0@example.com"] != paths["r1@example.com"]

                # Only the bounce domain is received; a forged return path is accepted and changes nothing.
                assert send_back(inbound, "someone@elsewhere.example", b"x")[0] == 550
                forged = paths["r3@example.com"][: -len(BOUNCES) - 3] + f"zz@{BOUNCES}"
                assert send_back(inbound, forged, dsn(forged, "r3@example.com", "5.1.1", "550 5.1.1 unknown"))[0] == 250
                # A hard bounce (twice: the webhook fires once), a soft one, and a complaint to the FBL address.
                hard = dsn(
                    paths["r0@example.com"], "r0@example.com", "5.1.1", "550 5.1.1 <r0@example.com>: User unknown"
                )
                for _ in range(2):
                    assert send_back(inbound, paths["r0@example.com"], hard)[0] == 250
                soft = dsn(paths["r1@example.com"], "r1@example.com", "4.2.2", "452 4.2.2 Mailbox full")
                assert send_back(inbound, paths["r1@example.com"], soft)[0] == 250
                assert send_back(inbound, f"fbl@{BOUNCES}", arf(paths["r2@example.com"], "r2@example.com"))[0] == 250

                def status(address: str) -> str:
                    return api.get(f"/emails/{ids[address]}").json()["email"]["status"]

                assert wait_for(
                    lambda: status("r0@example.com") == "bounced" and status("r2@example.com") == "complained", 10
                )
                bounced = api.get(f"/emails/{ids['r0@example.com']}").json()["events"][-1]
                assert (
                    bounced["type"] == "bounced"
                    and "5.1.1" in bounced["reason"]
                    and "User unknown" in bounced["reason"]
                )
                soft_events = api.get(f"/emails/{ids['r1@example.com']}").json()["events"]
                assert status("r1@example.com") == "sent" and soft_events[-1]["type"] == "deferred"
                assert "Mailbox full" in soft_events[-1]["reason"]
                assert status("r3@example.com") == "sent", "the forged bounce changed nothing"
                suppressed = {s["email"]: s["reason"] for s in api.get("/suppressions").json()["data"]}
                assert suppressed == {"r0@example.com": "bounce", "r2@example.com": "complaint"}
                assert wait_for(lambda: len(receiver.requests) >= 2, 10)
                events = sorted(r.headers.get("x-webhook-event") for r in receiver.requests)
                assert events == ["email.bounced", "email.complained"], "each fires once"
                # 1 hard bounce in 20 live sends is 5 %: over 2 % with at least 10 sends, the project is flagged.
                refused = wait_for(lambda: (r := api.post("/emails", json=body)).status_code == 403 and r, 5)
                assert refused and refused.json()["accountStatus"] == "flagged"
        finally:
            server.stop()

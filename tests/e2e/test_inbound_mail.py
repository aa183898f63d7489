"""Inbound mail end to end: a private Postfix (Debian's) delivers mail for a project's receiving
domain to `autorelay serve`'s inbound listener over STARTTLS (verified against AutoRelay's own CA),
and the project sees it in the API and at its webhook as a signed `email.received` event, with the
attachment's download link working without a key. Mail for any other domain is refused at RCPT,
whoever asks (Postfix bounces it; a direct open-relay attempt gets 550). On both profiles."""

from __future__ import annotations

import email.policy
import smtplib
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx
import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from tests.e2e.server import Server, free_port, wait_for
from tests.postfix import Postfix
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

DOMAIN = "in.acme.test"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


def _multipart() -> bytes:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = "Zoë Customer <zoe@customer.test>"
    message["To"] = f"Support <support@{DOMAIN}>"
    message["Cc"] = "boss@customer.test"
    message["Subject"] = "=?utf-8?q?Re=3A_Rechnung_f=C3=BCr_M=C3=A4rz?="
    message["Message-ID"] = "<question-1@customer.test>"
    message.set_content(
        "Here is the invoice you asked for.\n\nOn Mon, Dec 7, 2026 at 9:00 AM Acme wrote:\n> Send it?\n"
    )
    message.add_alternative("<p>Here is the invoice you asked for.</p>", subtype="html")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="Rechnung März.pdf")
    return message.as_bytes()


def test_postfix_delivers_mail_for_a_receiving_domain_and_the_project_sees_it(tmp_path):
    inbound = free_port()
    data = tmp_path / "data"
    mx = Postfix(
        transport=f"{DOMAIN} smtp:[127.0.0.1]:{inbound}\nelsewhere.test smtp:[127.0.0.1]:{inbound}\n",
        extra=f"smtp_tls_security_level = encrypt\nsmtp_tls_CAfile = {data / 'smtp-relay-ca.pem'}\n",
    )
    settings = {"AUTORELAY_INBOUND_LISTEN": f"127.0.0.1:{inbound}", "AUTORELAY_WEBHOOKS_ALLOW_PRIVATE": "1"}
    server = Server(data, settings).start()
    try:
        with Receiver() as receiver, mx, server.client(server.keys["live"]) as api:
            hook = api.post("/webhooks", json={"url": receiver.url("/inbound"), "events": ["email.received"]}).json()
            added = api.post("/receiving-domains", json={"name": DOMAIN.upper()})
            assert added.status_code == 201, added.text
            assert added.json()["name"] == DOMAIN
            assert {"type": "MX", "name": DOMAIN} == {k: added.json()["records"][0][k] for k in ("type", "name")}

            sent = api.post(
                "/emails", json={"to": "bob@other.test", "from": "news@acme.test", "subject": "Hi", "html": "x"}
            )
            assert sent.status_code == 200, sent.text
            mx.sendmail(_multipart(), f"support@{DOMAIN}", sender="bounces@customer.test")
            # Bob's reply to the email AutoRelay sent him names it.
            plain = (
                f"From: bob@other.test\r\nTo: hello@{DOMAIN}\r\nSubject: plain\r\n"
                f"In-Reply-To: {sent.json()['messageId']}\r\n\r\nJust text.\r\n"
            ).encode()
            mx.sendmail(plain, f"hello@{DOMAIN}", sender="bob@other.test")
            mx.sendmail(plain, "someone@elsewhere.test", sender="bob@other.test")  # nobody receives for it

            def arrived():
                found = api.get("/inbound").json()["data"]
                return found if len(found) == 2 else None

            found = wait_for(arrived, 60, interval=1.1)
            assert found, f"{api.get('/inbound').json()}\n{mx.log()[-3000:]}"
            plain_one, invoice = found  # newest first
            assert plain_one["subject"] == "plain" and plain_one["text"].strip() == "Just text."
            assert plain_one["reply_to_email_id"] == sent.json()["id"] and invoice["reply_to_email_id"] is None
            assert invoice["subject"] == "Re: Rechnung für März"
            assert invoice["from"] == "Zoë Customer <zoe@customer.test>"
            assert invoice["to"] == [f"Support <support@{DOMAIN}>"] and invoice["cc"] == ["boss@customer.test"]
            assert invoice["envelope_from"] == "bounces@customer.test"
            assert invoice["recipients"] == [f"support@{DOMAIN}"]
            assert invoice["message_id"] == "<question-1@customer.test>"
            assert invoice["html"] == "<p>Here is the invoice you asked for.</p>\n"
            assert invoice["reply_text"] == "Here is the invoice you asked for."
            first = invoice["headers"][0]
            assert first["name"] == "Received" and "(Postfix" in first["value"], first
            (attachment,) = invoice["attachments"]
            assert (attachment["filename"], attachment["content_type"], attachment["size"]) == (
                "Rechnung März.pdf",
                "application/pdf",
                len(PDF),
            )
            # The link works without a key, as a download; changed by a character, it does not.
            link = server.base + urlsplit(attachment["download_url"]).path  # the public URL is the default
            downloaded = httpx.get(link, timeout=10)
            assert downloaded.status_code == 200 and downloaded.content == PDF
            assert downloaded.headers["content-disposition"].startswith("attachment")
            cut = len(link) - 30  # inside the signed fields (a last base64 character may only pad)
            forged = httpx.get(link[:cut] + ("A" if link[cut] != "A" else "B") + link[cut + 1 :], timeout=10)
            assert forged.status_code == 404

            raw = api.get(f"/inbound/{invoice['id']}/raw")
            assert raw.status_code == 200 and raw.headers["content-type"] == "message/rfc822"
            assert raw.content.startswith(b"Received: by mx.test (Postfix")
            assert b"<question-1@customer.test>" in raw.content
            assert api.get("/inbound", params={"from": "zoe@customer.test"}).json()["data"][0]["id"] == invoice["id"]
            assert api.get("/inbound", params={"subject": "nothing like it"}).json()["data"] == []

            # The same mail through Resend's receiving API, as its SDKs call it.
            resend = {"Authorization": f"Bearer {server.keys['live']}"}
            compat = f"{server.base}/compat/resend/emails/receiving"
            listed = httpx.get(compat, headers=resend, params={"limit": 1}, timeout=10).json()
            assert listed["object"] == "list" and listed["has_more"] is True and len(listed["data"]) == 1
            one = httpx.get(f"{compat}/{invoice['id']}", headers=resend, timeout=10).json()
            assert (one["object"], one["subject"], one["message_id"]) == (
                "email",
                invoice["subject"],
                invoice["message_id"],
            )
            assert (
                one["attachments"][0]["filename"] == "Rechnung März.pdf" and "download_url" not in one["attachments"][0]
            )
            files = httpx.get(f"{compat}/{invoice['id']}/attachments", headers=resend, timeout=10).json()["data"]
            fetched = httpx.get(server.base + urlsplit(files[0]["download_url"]).path, timeout=10)
            assert (files[0]["size"], fetched.content) == (len(PDF), PDF)
            missing = httpx.get(f"{compat}/inb_nope", headers=resend, timeout=10)
            assert missing.status_code == 404 and missing.json()["name"] == "not_found"

            receiver.wait_for(2)
            events = [r for r in receiver.requests if r.path == "/inbound"]
            assert len(events) == 2
            payload = StandardWebhook(hook["secret"]).verify(events[0].body, events[0].headers)
            assert payload["type"] == "email.received" and payload["data"]["email_id"] in {
                invoice["id"],
                plain_one["id"],
            }

            # Deleted, the message takes its raw copy and attachment with it: the link stops working.
            deleted = api.delete(f"/inbound/{invoice['id']}")
            assert deleted.status_code == 200 and deleted.json()["deleted"] is True
            assert httpx.get(link, timeout=10).status_code == 404
            assert api.get(f"/inbound/{invoice['id']}/raw").status_code == 404
            assert [m["id"] for m in api.get("/inbound").json()["data"]] == [plain_one["id"]]

            # Postfix was refused for elsewhere.test at RCPT, and says so in its bounce to the sender.
            assert wait_for(lambda: "Relaying denied" in mx.log(), 30), mx.log()[-3000:]
            assert "TLS connection established to 127.0.0.1" in mx.log()

        # An open-relay attempt straight at the listener.
        with smtplib.SMTP("127.0.0.1", inbound, timeout=10) as client:
            client.ehlo("attacker.test")
            client.mail("spammer@attacker.test")
            code, reply = client.rcpt("victim@gmail.com")
            assert code == 550 and b"Relaying denied" in reply
    finally:
        server.stop()


def _dkim_key() -> tuple[bytes, str]:
    """A fresh RSA key: the private key (PEM) to sign with, and the p= value of its DNS record."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(public).decode()


def test_spf_dkim_and_dmarc_are_checked_against_dns_and_a_forgery_fails_dmarc(tmp_path):
    import dkim

    from tests.dns_server import DnsServer

    inbound = free_port()
    data = tmp_path / "data"
    private, public = _dkim_key()
    mx = Postfix(transport=f"{DOMAIN} smtp:[127.0.0.1]:{inbound}\n")
    with DnsServer() as dns_server:
        # customer.test signs with DKIM, sends from 127.0.0.1 and asks receivers to reject failures.
        dns_server.publish("TXT", "sel._domainkey.customer.test", f"v=DKIM1; k=rsa; p={public}")
        dns_server.publish("TXT", "customer.test", "v=spf1 ip4:127.0.0.1 -all")
        dns_server.publish("TXT", "_dmarc.customer.test", "v=DMARC1; p=reject")
        dns_server.publish("TXT", "_dmarc.bank.test", "v=DMARC1; p=reject")  # what the forger pretends to be
        settings = {"AUTORELAY_INBOUND_LISTEN": f"127.0.0.1:{inbound}", "AUTORELAY_DNS_RESOLVER": dns_server.address}
        server = Server(data, settings).start()
        try:
            with mx, server.client(server.keys["live"]) as api:
                assert api.post("/receiving-domains", json={"name": DOMAIN}).status_code == 201
                signed = (
                    b"From: Zoe <zoe@customer.test>\r\nTo: support@in.acme.test\r\nSubject: signed\r\n"
                    b"Message-ID: <signed-1@customer.test>\r\n\r\nA message customer.test vouches for.\r\n"
                )
                signature = dkim.sign(signed, b"sel", b"customer.test", private, include_headers=[b"from", b"subject"])
                mx.sendmail(signature + signed, f"support@{DOMAIN}", sender="zoe@customer.test")
                forged = (
                    b"From: CEO <ceo@bank.test>\r\nTo: support@in.acme.test\r\nSubject: forged\r\n"
                    b"\r\nPlease wire the money today.\r\n"
                )
                mx.sendmail(forged, f"support@{DOMAIN}", sender="someone@evil.test")

                def both():
                    found = api.get("/inbound").json()["data"]
                    return {m["subject"]: m for m in found} if len(found) == 2 else None

                found = wait_for(both, 60, interval=1.1)
                assert found, f"{api.get('/inbound').json()}\n{mx.log()[-3000:]}"
                good = found["signed"]["authentication"]
                assert (good["spf"], good["dkim"], good["dkim_domain"], good["dmarc"]) == (
                    "pass",
                    "pass",
                    "customer.test",
                    "pass",
                ), good
                assert "dkim=pass" in good["results"] and "dmarc=pass" in good["results"]
                bad = found["forged"]["authentication"]
                assert (bad["dkim"], bad["dmarc"], bad["from_domain"]) == ("none", "fail", "bank.test"), bad
        finally:
            server.stop()


def test_routes_and_a_dmarc_aggregate_report_through_postfix(tmp_path):
    """Postfix delivers to routed addresses (a reject route's own reply ends up in its bounce, a
    forward goes out through the outbox, a named webhook hears its address), and a zipped DMARC
    report mailed to the bounce domain's rua address shows up as the sending domain's figures; a
    zip bomb mailed the same way is refused and changes nothing."""
    from tests.unit.test_dmarc_reports import report_xml, zipped

    inbound = free_port()
    data = tmp_path / "data"
    mx = Postfix(transport=f"{DOMAIN} smtp:[127.0.0.1]:{inbound}\nbounces.test smtp:[127.0.0.1]:{inbound}\n")
    settings = {
        "AUTORELAY_INBOUND_LISTEN": f"127.0.0.1:{inbound}",
        "AUTORELAY_BOUNCE_DOMAIN": "bounces.test",
        "AUTORELAY_WEBHOOKS_ALLOW_PRIVATE": "1",
    }
    server = Server(data, settings).start()

    def report(attachment: bytes, name: str) -> bytes:
        message = EmailMessage()
        message["From"] = "noreply-dmarc-support@google.com"
        message["To"] = "dmarc-reports@bounces.test"
        message["Subject"] = "Report domain: acme.test Submitter: google.com Report-ID: 7"
        message.set_content("This is an aggregate report from google.com.")
        message.add_attachment(attachment, maintype="application", subtype="zip", filename=name)
        return message.as_bytes(policy=email.policy.SMTP)

    try:
        with Receiver() as receiver, mx, server.client(server.keys["live"]) as api:
            assert api.post("/receiving-domains", json={"name": DOMAIN}).status_code == 201
            # This endpoint listens for other events: only the route naming it sends it mail.
            hook = api.post("/webhooks", json={"url": receiver.url("/app"), "events": ["email.sent"]}).json()
            routes = [
                {
                    "match": "exact",
                    "pattern": f"old@{DOMAIN}",
                    "action": "reject",
                    "smtpCode": 551,
                    "smtpMessage": "Moved; write to help@ instead",
                },
                {"match": "plus", "pattern": f"app@{DOMAIN}", "action": "webhook", "webhookId": hook["id"]},
                {
                    "match": "plus",
                    "pattern": f"help@{DOMAIN}",
                    "action": "forward",
                    "forwardTo": "desk@partner.test",
                    "forwardFrom": "inbox@acme.test",
                },
                {"match": "catch_all", "pattern": DOMAIN, "action": "store"},
            ]
            for route in routes:
                made = api.post("/inbound-routes", json=route)
                assert made.status_code == 201, made.text
            assert [r["match"] for r in api.get("/inbound-routes").json()["data"]] == [
                "exact",
                "plus",
                "plus",
                "catch_all",
            ]

            def mail(to: str, subject: str) -> bytes:
                return f"From: Zoe <zoe@customer.test>\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nHello.\r\n".encode()

            mx.sendmail(mail(f"old@{DOMAIN}", "to the old address"), f"old@{DOMAIN}", sender="zoe@customer.test")
            mx.sendmail(
                mail(f"app+ticket-9@{DOMAIN}", "ticket 9"), f"app+ticket-9@{DOMAIN}", sender="zoe@customer.test"
            )
            mx.sendmail(mail(f"help@{DOMAIN}", "please help"), f"help@{DOMAIN}", sender="zoe@customer.test")
            mx.sendmail(mail(f"random@{DOMAIN}", "kept only"), f"random@{DOMAIN}", sender="zoe@customer.test")
            rows = [("192.0.2.10", 1200, "pass", "pass"), ("198.51.100.7", 35, "fail", "fail")]
            name = "google.com!acme.test!1764547200!1764633599"
            mx.sendmail(
                report(zipped(f"{name}.xml", report_xml("acme.test", "7", rows)), f"{name}.zip"),
                "dmarc-reports@bounces.test",
                sender="noreply-dmarc-support@google.com",
            )
            bomb = zipped("bomb.xml", b"<feedback>" + b" " * (100 * 1024 * 1024))
            mx.sendmail(report(bomb, "bomb.zip"), "dmarc-reports@bounces.test", sender="bomber@evil.test")

            def arrived():
                found = {m["subject"]: m for m in api.get("/inbound").json()["data"]}
                return found if len(found) == 3 else None

            found = wait_for(arrived, 60, interval=1.1)
            assert found, f"{api.get('/inbound').json()}\n{mx.log()[-3000:]}"
            assert set(found) == {"ticket 9", "please help", "kept only"}  # reports are not received mail
            ((forwarded),) = found["please help"]["forwarded"]
            assert forwarded["to"] == "desk@partner.test" and forwarded["error"] is None, forwarded
            sent = api.get(f"/emails/{forwarded['email_id']}").json()["email"]
            assert (sent["to"], sent["from"], sent["subject"]) == (
                "desk@partner.test",
                "inbox@acme.test",
                "please help",
            )
            assert sent["replyTo"] == ["zoe@customer.test"]
            assert found["kept only"]["route_ids"] and found["ticket 9"]["route_ids"]

            # The forward's own email.sent event comes here too (the endpoint listens for it).
            signed = StandardWebhook(hook["secret"])
            assert wait_for(lambda: [r for r in receiver.requests if b"email.received" in r.body], 30), (
                receiver.requests
            )
            received = [signed.verify(r.body, r.headers) for r in receiver.requests if b"email.received" in r.body]
            assert [p["data"]["subject"] for p in received] == ["ticket 9"]

            # Postfix was refused at RCPT with the route's own reply, and the bomb at DATA.
            assert wait_for(lambda: "551 5.0.0 Moved; write to help@ instead" in mx.log(), 30), mx.log()[-3000:]
            assert wait_for(lambda: "unpacks to more than" in mx.log(), 30), mx.log()[-3000:]

            (acme,) = [d for d in api.get("/domains").json()["data"] if d["domain"] == "acme.test"]
            assert "rua=mailto:dmarc-reports@bounces.test" in api.get(f"/domains/{acme['id']}").text
            summary = wait_for(lambda: (s := api.get(f"/domains/{acme['id']}/dmarc").json())["reports"] and s, 30)
            assert summary, api.get(f"/domains/{acme['id']}/dmarc").text
            figures = {
                s["source_ip"]: (s["messages"], s["passed"], s["failed"], s["standing"]) for s in summary["sources"]
            }
            assert figures == {"192.0.2.10": (1200, 1200, 0, "authorised"), "198.51.100.7": (35, 0, 35, "unauthorised")}
            assert summary["record"] == "v=DMARC1; p=none; rua=mailto:dmarc-reports@bounces.test"
            assert summary["authorisation_record"]["name"] == "acme.test._report._dmarc.bounces.test"
    finally:
        server.stop()

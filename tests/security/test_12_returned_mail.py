"""Second pass, returned mail (#32 items 2 and 3), against a real server's inbound listener: a
recipient who writes a report to the return path they were given suppresses no one else, and mail
built to cost parsing time leaves the API answering and the log short."""

from __future__ import annotations

import re
import smtplib
import threading
import time

import httpx
import pytest

from tests.bounce_messages import BOUNCES
from tests.e2e.server import Server, free_port, wait_for
from tests.smtp_sink import Sink


@pytest.fixture(scope="module")
def looped(tmp_path_factory):
    """A server delivering to a sink with VERP return paths, its inbound listener on a free port."""
    folder = tmp_path_factory.mktemp("returned")
    inbound = free_port()
    with Sink() as sink:
        settings = sink.server_settings(folder) | {
            "AUTORELAY_BOUNCE_DOMAIN": BOUNCES,
            "AUTORELAY_INBOUND_LISTEN": f"127.0.0.1:{inbound}",
        }
        server = Server(folder / "data", settings).start()
        try:
            yield server, sink, inbound
        finally:
            server.stop()


def _send_back(port: int, recipient: str, message: bytes) -> int:
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
        client.ehlo("mx.example.com")
        client.mail("")
        code, _ = client.rcpt(recipient)
        return code if code != 250 else client.data(message)[0]


def _refused_or_taken(port: int, message: bytes) -> int:
    """The listener's answer to DATA; 0 when it closed the connection first (a line budget spent)."""
    try:
        return _send_back(port, f"b+x@{BOUNCES}", message)
    except (smtplib.SMTPServerDisconnected, ConnectionError):
        return 0


def _report(return_path: str, blocks: str) -> bytes:
    return (
        f"From: =?utf-8?q?Mail_Syst=C3=A8m?= <MAILER-DAEMON@mx.example.com>\r\nTo: {return_path}\r\n"
        "Subject: Undelivered Mail \xe9\xe8 raw 8-bit\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        "--r\r\nContent-Type: text/plain\r\n\r\nThese could not be delivered.\r\n"
        f"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n{blocks}"
        "--r--\r\n"
    ).encode("latin-1")


def _metric(server: Server, name: str) -> float:
    text = httpx.get(f"{server.base}/metrics", timeout=10).text
    found = re.search(rf"^{name}_total (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_report_to_a_recipients_own_return_path_suppresses_no_one_else(looped):
    server, sink, inbound = looped
    with server.client(server.keys["live"]) as api:
        listed = api.post("/lists", json={"name": "customers"}).json()["id"]
        assert api.post("/contacts", json={"email": "customer@example.com", "listId": listed}).status_code in (200, 201)
        mail = {"from": "news@acme.test", "subject": "s", "html": "<p>x</p>"}
        mine = api.post("/emails", json=mail | {"to": "attacker@example.com"}).json()["id"]
        theirs = api.post("/emails", json=mail | {"to": "customer@example.com"}).json()["id"]
        assert wait_for(lambda: len(sink.messages) >= 2, 20)
        path = next(e.mail_from for e in sink.messages if e.rcpt_tos == ["attacker@example.com"])
        before = _metric(server, "autorelay_report_recipients_ignored")
        strangers = ["customer@example.com", *(f"victim{i}@example.org" for i in range(300))]
        # Blocks as real MTAs write them: some with no blank line between them.
        blocks = "".join(
            f"\r\nFinal-Recipient: rfc822; {a}\r\nAction: failed\r\nStatus: 5.1.1\r\n" if i % 2 else
            f"Final-Recipient: rfc822; {a}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            for i, a in enumerate(strangers)
        )  # fmt: skip
        own = "\r\nFinal-Recipient: rfc822; attacker@some-ms-daemon\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        assert _send_back(inbound, path, _report(path, blocks + own)) == 250

        def status(email_id: str) -> str:
            return api.get(f"/emails/{email_id}").json()["email"]["status"]

        assert wait_for(lambda: status(mine) == "bounced", 10), "the one recipient's own bounce applies"
        suppressed = {s["email"] for s in api.get("/suppressions").json()["data"]}
        assert suppressed == {"attacker@example.com"}
        assert status(theirs) == "sent"
        contact = api.get("/contacts", params={"listId": listed}).json()["contacts"][0]
        assert contact["status"] == "subscribed"
        assert _metric(server, "autorelay_report_recipients_ignored") - before == len(strangers)


def test_mail_built_to_cost_parsing_time_leaves_the_api_answering(looped):
    server, _, inbound = looped
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(140_000))  # just under 5 MB
    swarm = (
        f"From: x@y.example\r\nTo: b+x@{BOUNCES}\r\nMIME-Version: 1.0\r\n".encode()
        + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        + parts
        + b"--b--\r\n"
    )
    blanks = f"From: x@y.example\r\nTo: b+x@{BOUNCES}\r\nSubject: x\r\n\r\n".encode() + b"\r\n" * 2_400_000
    log_before = server.log.stat().st_size
    codes: list[int] = []
    senders = [
        threading.Thread(target=lambda m=m: codes.append(_refused_or_taken(inbound, m)))
        for m in (swarm, swarm, blanks, blanks, swarm, blanks)
    ]
    for sender in senders:
        sender.start()
    latencies = []
    with server.client(server.keys["test"]) as api:
        templated = {"to": "a@example.com", "from": "a@acme.test", "subject": "{{ n }}", "html": "<p>{{ n }}</p>"}
        while any(s.is_alive() for s in senders) or not latencies:
            started = time.monotonic()
            answer = api.post("/emails", json=templated | {"data": {"n": len(latencies)}})
            assert answer.status_code == 200, answer.text
            latencies.append(time.monotonic() - started)
    for sender in senders:
        sender.join()
    assert len(codes) == len(senders) and all(code in (250, 451, 552, 0) for code in codes), codes
    print(f"templated sends while hostile mail was read: {len(latencies)}, slowest {max(latencies) * 1000:.0f} ms")
    assert max(latencies) < 3, f"a templated send waited {max(latencies):.1f} s behind strangers' mail"
    grown = server.log.stat().st_size - log_before
    assert grown < 10_000, f"{grown} bytes of log for {len(senders)} messages"

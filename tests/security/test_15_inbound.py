"""Inbound mail (#40) against a real server's listener: strangers' mail built to cost parsing time
(100,000 parts, nesting thousands deep, a million blank lines, NUL characters, a zip bomb and a
billion laughs mailed as DMARC reports) is refused or read within limits while the API keeps
answering, nothing of it lands half-stored, an address built to make a route's expression backtrack
for ever is answered at once, and the listener is no open relay whatever the envelope says."""

from __future__ import annotations

import email.policy
import smtplib
import threading
import time
from email.message import EmailMessage

import pytest

from tests.e2e.server import Server, free_port
from tests.unit.test_dmarc_reports import zipped

DOMAIN = "in.acme.test"


@pytest.fixture(scope="module")
def listening(tmp_path_factory):
    inbound = free_port()
    settings = {"AUTORELAY_INBOUND_LISTEN": f"127.0.0.1:{inbound}", "AUTORELAY_BOUNCE_DOMAIN": "bounces.test"}
    server = Server(tmp_path_factory.mktemp("inbound") / "data", settings)
    server.start()
    try:
        with server.client(server.keys["live"]) as api:
            assert api.post("/receiving-domains", json={"name": DOMAIN}).status_code == 201
        yield server, inbound
    finally:
        server.stop()


def _deliver(port: int, message: bytes, recipient: str = f"support@{DOMAIN}") -> int:
    """The listener's answer to DATA; 0 when it closed the connection first (a budget spent). A
    "busy" answer (too many messages waiting to be read) is tried again later, as an MTA would."""
    for _ in range(60):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
                client.ehlo("mx.stranger.test")
                client.mail("x@stranger.test")
                code, _ = client.rcpt(recipient)
                code, reply = (code, b"") if code != 250 else client.data(message)
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPDataError, ConnectionError) as error:
            return getattr(error, "smtp_code", 0)
        if not (code == 451 and b"Busy" in reply):
            return code
        time.sleep(0.5)
    return code


def _report(filename: str, data: bytes, subtype: str) -> bytes:
    message = EmailMessage()
    message["From"], message["Subject"] = "dmarc@stranger.test", "Report domain: acme.test"
    message.set_content("An aggregate report.")
    message.add_attachment(data, maintype="application", subtype=subtype, filename=filename)
    return message.as_bytes(policy=email.policy.SMTP)


def _nested(depth: int) -> bytes:
    inner = b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    for level in range(depth):
        b = f"n{level}".encode()
        inner = (
            b"Content-Type: multipart/mixed; boundary="
            + b
            + b"\r\n\r\n--"
            + b
            + b"\r\n"
            + inner
            + b"\r\n--"
            + b
            + b"--\r\n"
        )
    return b"From: x@stranger.test\r\nSubject: nested\r\n" + inner


def test_hostile_mail_is_refused_or_read_within_limits_while_the_api_answers(listening):
    server, inbound = listening
    # 100,000 parts of three lines each: within the listener's line budget, so the reader sees it.
    swarm = (
        b"From: x@stranger.test\r\nSubject: swarm\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        + b"".join(b"--b\r\n\r\nx\r\n" for _ in range(100_000))
        + b"--b--\r\n"
    )
    blanks = b"From: x@stranger.test\r\nSubject: blanks\r\n\r\n" + b"\r\n" * 1_000_000
    nuls = b"From: x@stranger.test\r\nSubject: nul \x00 subject\r\n\r\nbody \x00 with NUL\r\n"
    codes: dict[str, int] = {}
    hostile = {"swarm": swarm, "deep": _nested(3_000), "shallow-deep": _nested(200), "blanks": blanks, "nuls": nuls}
    to = {name: f"support@{DOMAIN}" for name in hostile}
    # DMARC reports: 200 MB of XML packed into 200 KB, and entities that grow to gigabytes.
    bomb = zipped("google.com!acme.test!1!2.xml", b"<feedback>" + b" " * (200 * 1024 * 1024))
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">'.encode() for n in range(9))
        + b"]><feedback>&j;</feedback>"
    )
    hostile["zip-bomb"] = _report("bomb.zip", bomb, "zip")
    hostile["laughs"] = _report("laughs.xml", laughs, "xml")
    to["zip-bomb"] = to["laughs"] = "dmarc-reports@bounces.test"
    senders = [
        threading.Thread(target=lambda k=k, m=m: codes.__setitem__(k, _deliver(inbound, m, to[k])))
        for k, m in hostile.items()
    ]
    for sender in senders:
        sender.start()
    latencies = []
    with server.client(server.keys["test"]) as api:
        while any(s.is_alive() for s in senders) or not latencies:
            started = time.monotonic()
            answer = api.post(
                "/emails", json={"to": "a@example.com", "from": "a@acme.test", "subject": "s", "html": "x"}
            )
            assert answer.status_code == 200, answer.text
            latencies.append(time.monotonic() - started)
    for sender in senders:
        sender.join()
    print(f"sends while hostile mail was read: {len(latencies)}, slowest {max(latencies) * 1000:.0f} ms; {codes}")
    assert max(latencies) < 3, f"a send waited {max(latencies):.1f} s behind strangers' mail"
    assert codes["swarm"] == 554 and codes["deep"] == 554 and codes["shallow-deep"] == 554, codes
    assert codes["nuls"] == 250 and codes["blanks"] in (552, 0), codes  # past the line budget
    assert codes["zip-bomb"] == 554 and codes["laughs"] == 554, codes
    with server.client(server.keys["live"]) as api:
        stored = {m["subject"]: m for m in api.get("/inbound", params={"limit": 100}).json()["data"]}
    assert "swarm" not in stored and "nested" not in stored, "a refused message is not stored"
    assert stored["nul \ufffd subject"]["text"] == "body \ufffd with NUL\n"


@pytest.mark.parametrize(
    "recipient",
    [
        "victim@gmail.com",
        f"victim@gmail.com@{DOMAIN}",  # the last @ decides, and it is ours, but this is no address
        f"support@{DOMAIN}.evil.test",
        f"support@evil.test#{DOMAIN}",
        f'"support@{DOMAIN}"@evil.test',
        f"@{DOMAIN}:victim@gmail.com",  # a source route (RFC 5321 C): relays to gmail.com
        "postmaster@[127.0.0.1]",
    ],
)
def test_the_listener_is_no_open_relay(listening, recipient):
    _, inbound = listening
    with smtplib.SMTP("127.0.0.1", inbound, timeout=10) as client:
        client.ehlo("attacker.test")
        client.mail("spammer@attacker.test")
        code, _ = client.rcpt(recipient)
    assert code in (550, 553, 501), f"{recipient}: {code}"


def test_a_routes_expression_can_neither_unroll_into_memory_nor_backtrack_for_ever(listening):
    server, inbound = listening
    with server.client(server.keys["live"]) as api:
        # An expression that unrolls into gigabytes is refused before anything compiles it.
        for pattern in ("((a|b){1000}){1000}", "a{4294967294}"):
            refused = api.post("/inbound-routes", json={"match": "regex", "pattern": pattern, "action": "store"})
            assert refused.status_code == 400 and "repeats too much" in refused.text, refused.text
        for pattern in (r"(a+)+\$", r"(a|aa)+@in\.acme\.test", r"(.*a){25}"):
            made = api.post("/inbound-routes", json={"match": "regex", "pattern": pattern, "action": "reject"})
            assert made.status_code == 201, made.text
        with smtplib.SMTP("127.0.0.1", inbound, timeout=30) as client:
            client.ehlo("attacker.test")
            client.mail("x@attacker.test")
            slowest = 0.0
            for _ in range(15):
                started = time.monotonic()
                code, _ = client.rcpt(f"{'a' * 60}!@{DOMAIN}")
                slowest = max(slowest, time.monotonic() - started)
                assert code == 250  # the expressions gave up: no route, the mail is taken
        for route in api.get("/inbound-routes").json()["data"]:
            api.delete(f"/inbound-routes/{route['id']}")
    print(f"slowest RCPT against three backtracking expressions: {slowest * 1000:.0f} ms")
    assert slowest < 0.5

"""The deliverability loop through a polled mailbox, with real parts: AutoRelay delivers over SMTP
with VERP return paths; the DSNs and a complaint land in a mailbox on a real IMAP server (Dovecot);
`autorelay inbound` reads it, is killed (SIGKILL) mid-mailbox and started again, and in the end
every report counted once, nothing was lost, and the mailbox holds every message, marked."""

from __future__ import annotations

import json

import pytest

from tests.bounce_messages import BOUNCES, arf, dsn
from tests.e2e.server import Server, _Process, wait_for
from tests.imap_server import Dovecot
from tests.smtp_sink import Sink
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e
SENDS, HARD, SOFT = 60, 40, 10  # r0..r39 hard bounces, r40..r49 soft, r50 complains, r51 forged


class Inbound(_Process):
    def __init__(self, data_dir, extra: dict[str, str]) -> None:
        self.data_dir, self.extra = data_dir, extra

    def start(self) -> Inbound:
        self.spawn(self.data_dir, ["inbound"], self.extra, self.data_dir / "inbound.log")
        return self


def test_a_polled_mailbox_closes_the_loop_across_a_kill(tmp_path):
    with Dovecot() as imap, Sink() as sink, Receiver() as receiver:
        ca = tmp_path / "imap-ca.pem"
        imap.ca.cert_pem.write_to_path(str(ca))
        settings = sink.server_settings(tmp_path) | {
            "AUTORELAY_BOUNCE_DOMAIN": BOUNCES,
            "AUTORELAY_REPUTATION_MIN_VOLUME": "10",
            "AUTORELAY_WEBHOOKS_ALLOW_PRIVATE": "1",
        }
        server = Server(tmp_path / "data", settings).start()
        reader = None
        try:
            with server.client(server.keys["live"]) as api:
                hook = {"url": receiver.url("/imap"), "events": ["email.bounced", "email.complained"]}
                assert api.post("/webhooks", json=hook).status_code == 201
                ids = {}
                for n in range(SENDS):
                    body = {"to": f"r{n}@example.com", "from": "news@acme.test", "subject": f"n{n}", "html": "<p>x</p>"}
                    ids[n] = api.post("/emails", json=body).json()["id"]
                assert wait_for(lambda: len(sink.messages) >= SENDS, 30)
                path = {int(e.rcpt_tos[0][1:].split("@")[0]): e.mail_from for e in sink.messages}

                for n in range(HARD):
                    imap.deliver(dsn(path[n], f"r{n}@example.com", "5.1.1", f"550 5.1.1 <r{n}@example.com>: unknown"))
                for n in range(HARD, HARD + SOFT):
                    imap.deliver(dsn(path[n], f"r{n}@example.com", "4.2.2", "452 4.2.2 Mailbox full"))
                imap.deliver(arf(path[50], "r50@example.com"))
                forged = path[51][: -len(BOUNCES) - 3] + f"zz@{BOUNCES}"
                imap.deliver(dsn(forged, "r51@example.com", "5.1.1", "550 5.1.1 unknown"))
                total = HARD + SOFT + 2

                reading = settings | {
                    "AUTORELAY_BOUNCE_IMAP_URL": imap.url(),
                    "AUTORELAY_BOUNCE_IMAP_CA_FILE": str(ca),
                    "AUTORELAY_BOUNCE_IMAP_POLL_SECONDS": "0.2",
                }
                reader = Inbound(server.data_dir, reading).start()
                assert wait_for(lambda: imap.count(criteria="KEYWORD $AutoRelayDone") >= 5, 30), reader_log(server)
                reader.kill()
                done_at_kill = imap.count(criteria="KEYWORD $AutoRelayDone")
                assert done_at_kill < total, "the reader finished before the kill: nothing was interrupted"
                reader = Inbound(server.data_dir, reading).start()
                assert wait_for(lambda: imap.count(criteria="UNKEYWORD $AutoRelayDone") == 0, 30), reader_log(server)
                assert imap.count() == total, "processed mail stays in the mailbox"

                def email(n: int) -> dict:
                    return api.get(f"/emails/{ids[n]}").json()

                assert wait_for(lambda: email(50)["email"]["status"] == "complained", 10)
                for n in range(SENDS):
                    events = [e["type"] for e in email(n)["events"]]
                    if n < HARD:
                        assert email(n)["email"]["status"] == "bounced" and events.count("bounced") == 1, (n, events)
                    elif n < HARD + SOFT:
                        assert email(n)["email"]["status"] == "sent" and events.count("deferred") == 1, (n, events)
                    elif n != 50:
                        assert email(n)["email"]["status"] == "sent" and "bounced" not in events, (n, events)
                suppressed = {s["email"] for s in api.get("/suppressions", params={"limit": 100}).json()["data"]}
                assert suppressed == {f"r{n}@example.com" for n in range(HARD)} | {"r50@example.com"}
                # The reader posts webhooks too. One killed after its post reached the receiver but
                # before the delivery was marked done is posted again when the lease ends, with the
                # same id: at least once, deduplicated on X-Webhook-Id, as docs/USING-THE-API.md says.
                assert wait_for(lambda: len(posted_events(receiver)) >= HARD + 1, 15)
                fired = sorted(event["type"] for event in posted_events(receiver).values())
                assert fired == ["email.bounced"] * HARD + ["email.complained"], "each event fires once, by id"
                assert api.post("/emails", json=body).status_code == 403  # 40 of 60 bounced: flagged
                assert "mailbox-secret" not in reader_log(server), "the mailbox password never reaches the log"
        finally:
            if reader is not None:
                reader.stop()
            server.stop()


def posted_events(receiver) -> dict[str, dict]:
    """Each webhook event the receiver got, by its id; a repeat must be the same event."""
    events: dict[str, dict] = {}
    for request in list(receiver.requests):
        event = json.loads(request.body)
        assert request.headers["x-webhook-id"] == event["id"]
        assert events.setdefault(event["id"], event) == event, "a repeated post is the same event"
    return events


def reader_log(server) -> str:
    path = server.data_dir / "inbound.log"
    return path.read_text(errors="replace") if path.exists() else ""

"""Webhooks and tracking as a user meets them: a real server, a real receiver (uvicorn, started
here), the delivered message files, and a real DNS server for the SSRF guard."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import html
import json
import re

import httpx
import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.dns_server import DnsServer
from tests.e2e.server import Server, wait_for
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

EVENTS = ["email.sent", "email.opened", "email.clicked"]
LINK = "https://shop.example.com/orders/1042?x=1&amp;y=2"
PAGE = f'<html><body><p>Your order shipped.</p><a href="{LINK}">Track it</a></body></html>'


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture(scope="module")
def local_server(tmp_path_factory):
    # Local development: webhooks to plain http on loopback are allowed by this setting only.
    srv = Server(tmp_path_factory.mktemp("hooks"), {"AUTORELAY_WEBHOOKS_ALLOW_PRIVATE": "1"}).start()
    yield srv
    srv.stop()


def _events_of(receiver: Receiver, kind: str):
    return [r for r in receiver.requests if r.headers.get("x-webhook-event") == kind]


def test_a_tagged_send_reaches_the_receiver_signed_and_failures_are_listed_then_resolved(local_server, receiver):
    with local_server.client(local_server.keys["live"]) as api:
        created = api.post("/webhooks", json={"url": receiver.url("/hooks"), "events": EVENTS})
        assert created.status_code == 201, created.text
        hook = created.json()
        secret = hook["secret"]
        assert secret.startswith("whsec_") and hook["isActive"] is True and hook["events"] == EVENTS
        listed = api.get("/webhooks").json()["data"]
        assert [w["id"] for w in listed] == [hook["id"]] and "secret" not in listed[0]
        assert "secret" not in api.get(f"/webhooks/{hook['id']}").json()

        receiver.statuses = [500]  # the first attempt fails; the immediate retry succeeds
        sent = api.post(
            "/emails",
            json={
                "to": "ann@example.com",
                "from": "Shop <orders@acme.test>",
                "subject": "Shipped",
                "html": PAGE,
                "tags": {"order": "1042"},
            },
        )
        assert sent.status_code == 200, sent.text
        sent = sent.json()
        wait_for(lambda: len(_events_of(receiver, "email.sent")) >= 2, timeout=15)
        failed, delivered = _events_of(receiver, "email.sent")[:2]
        assert failed.body == delivered.body
        body = delivered.body
        payload = json.loads(body)
        assert payload["type"] == "email.sent" and payload["id"].startswith("evt_")
        assert payload["data"]["emailId"] == sent["id"] and payload["data"]["to"] == ["ann@example.com"]
        assert payload["data"]["tags"] == {"order": "1042"}
        headers = delivered.headers
        assert headers["x-webhook-id"] == payload["id"] and headers["x-webhook-event"] == "email.sent"
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-webhook-signature"] == expected
        assert StandardWebhook(secret).verify(body, headers)["id"] == payload["id"]
        changed = body[:-2] + bytes([body[-2] ^ 1]) + body[-1:]  # one byte
        assert hmac.new(secret.encode(), changed, hashlib.sha256).hexdigest() != headers["x-webhook-signature"]
        with pytest.raises(WebhookVerificationError):
            StandardWebhook(secret).verify(changed, headers)

        def listed_once_resolved() -> dict | None:
            # The receiver logs a request before its answer reaches the poster and the outcome is stored.
            answer = api.get(f"/webhooks/{hook['id']}/deliveries", params={"limit": 20}).json()
            return answer if answer["data"] and answer["data"][0]["resolved_at"] else None

        deliveries = wait_for(listed_once_resolved, timeout=10)
        assert deliveries, "the failed-then-delivered post never showed as resolved"
        assert deliveries["object"] == "list" and deliveries["webhook_id"] == hook["id"]
        (row,) = deliveries["data"]
        assert row["event_id"] == payload["id"] and row["event_type"] == "email.sent"
        assert row["error"] == "HTTP 500: nope" and row["attempts"] == 2 and row["replay_count"] == 0
        assert row["status"] == "succeeded" and row["resolved_at"] is not None
        assert api.get(f"/webhooks/{hook['id']}/deliveries", params={"limit": 101}).status_code == 400

        replay = api.post(f"/webhooks/{hook['id']}/deliveries/{row['id']}/replay")
        assert replay.status_code == 202 and replay.json()["replay_count"] == 1
        wait_for(lambda: len(_events_of(receiver, "email.sent")) >= 3, timeout=10)
        assert _events_of(receiver, "email.sent")[2].body == body
        (row,) = api.get(f"/webhooks/{hook['id']}/deliveries").json()["data"]
        assert row["replay_count"] == 1 and row["attempts"] == 3


def test_tracked_links_redirect_the_pixel_counts_and_webhooks_follow(local_server, receiver):
    with local_server.client(local_server.keys["live"]) as api:
        hook = api.post("/webhooks", json={"url": receiver.url("/track"), "events": ["email.opened", "email.clicked"]})
        assert hook.status_code == 201
        sent = api.post(
            "/emails",
            json={"to": "bo@example.com", "from": "Shop <orders@acme.test>", "subject": "Hi", "html": PAGE},
        ).json()
        wait_for(lambda: api.get(f"/emails/{sent['id']}").json()["email"]["status"] == "sent", timeout=10)
        message = email.message_from_bytes(
            (local_server.data_dir / "mail" / f"{sent['id']}.eml").read_bytes(), policy=email.policy.default
        )
        sent_html = message.get_body(("html",)).get_content()
        (pixel,) = [html.unescape(u) for u in re.findall(r'src="([^"]+/track/open/[^"]+)"', sent_html)]
        (link,) = [html.unescape(u) for u in re.findall(r'href="([^"]+/track/click/[^"]+)"', sent_html)]

        gif = httpx.get(pixel)
        assert gif.status_code == 200 and gif.headers["content-type"] == "image/gif"
        assert gif.content.startswith(b"GIF89a") and "no-store" in gif.headers["cache-control"]
        click = httpx.get(link, follow_redirects=False)
        assert click.status_code == 302
        assert click.headers["location"] == "https://shop.example.com/orders/1042?x=1&y=2"
        token = link.rsplit("/", 1)[1]
        forged = link.replace(token, token[:-3] + ("abc" if not token.endswith("abc") else "xyz"))
        tampered = httpx.get(forged, follow_redirects=False)
        assert tampered.status_code == 400 and "location" not in tampered.headers
        assert httpx.get(pixel[:-4] + "AAAA").status_code == 400

        detail = api.get(f"/emails/{sent['id']}").json()
        assert detail["email"]["status"] == "clicked"
        assert detail["email"]["opens"] == 1 and detail["email"]["clicks"] == 1
        assert [e["type"] for e in detail["events"]][-2:] == ["opened", "clicked"]
        wait_for(lambda: _events_of(receiver, "email.clicked"), timeout=10)
        opened = json.loads(_events_of(receiver, "email.opened")[-1].body)
        clicked = json.loads(_events_of(receiver, "email.clicked")[-1].body)
        assert opened["data"]["emailId"] == clicked["data"]["emailId"] == sent["id"]
        assert clicked["data"]["url"] == "https://shop.example.com/orders/1042?x=1&y=2"


def test_paused_and_deleted_endpoints_get_nothing(local_server, receiver):
    with local_server.client(local_server.keys["live"]) as api:
        hook = api.post("/webhooks", json={"url": receiver.url("/paused"), "events": ["email.failed"]}).json()
        paused = api.patch(f"/webhooks/{hook['id']}", json={"active": False, "events": ["email.sent"]})
        assert paused.status_code == 200 and paused.json()["active"] is False
        assert paused.json()["events"] == ["email.sent"]
        assert api.patch(f"/webhooks/{hook['id']}", json={"events": ["email.read"]}).status_code == 400
        assert api.patch(f"/webhooks/{hook['id']}", json={"colour": "red"}).status_code == 400
        api.post("/emails", json={"to": "cy@example.com", "from": "orders@acme.test", "subject": "s", "html": "h"})
        gone = api.delete(f"/webhooks/{hook['id']}")
        assert gone.json() == {"id": hook["id"], "deleted": True}
        assert api.get(f"/webhooks/{hook['id']}").status_code == 404
        assert [r for r in receiver.requests if r.path == "/paused"] == []


@pytest.fixture(scope="module")
def dns():
    with DnsServer() as server:
        server.publish("A", "inside.example.test", "127.0.0.1")
        server.publish("A", "moving.example.test", "93.184.216.34")
        yield server


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory, dns):
    srv = Server(tmp_path_factory.mktemp("guarded"), {"AUTORELAY_DNS_RESOLVER": dns.address}).start()
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://10.0.0.1/",
        "https://169.254.169.254/",
        "https://[::1]/",
        "https://[fc00::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://2130706433/",
        "https://inside.example.test/hooks",
        "http://moving.example.test/",
    ],
)
def test_creation_refuses_addresses_inside_the_network(guarded_server, url):
    with guarded_server.client(guarded_server.keys["live"]) as api:
        refused = api.post("/webhooks", json={"url": url, "events": ["email.sent"]})
        assert refused.status_code == 400, refused.text
        assert re.search(r"https://|loopback|private|link-local|unique-local", refused.text)
        assert all(w["url"] != url for w in api.get("/webhooks").json()["data"])


def test_a_host_that_later_resolves_to_loopback_is_refused_at_delivery(guarded_server, dns):
    with guarded_server.client(guarded_server.keys["live"]) as api:
        hook = api.post("/webhooks", json={"url": "https://moving.example.test/hooks", "events": ["email.sent"]})
        assert hook.status_code == 201, hook.text
        dns.replace("A", "moving.example.test", "127.0.0.1")
        api.post("/emails", json={"to": "di@example.com", "from": "orders@acme.test", "subject": "s", "html": "h"})

        def refused():
            rows = api.get(f"/webhooks/{hook.json()['id']}/deliveries").json()["data"]
            return rows[0] if rows else None

        row = wait_for(refused, timeout=10)
        assert row and row["status"] == "failed"
        assert row["error"] == ("refused: url host moving.example.test resolves to 127.0.0.1, a loopback address")

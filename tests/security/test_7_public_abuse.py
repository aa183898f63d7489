"""Class 7: public endpoints resist abuse. Tracking fetches are recorded at most once a minute per
email and client (a scanner hitting the pixel 100 times makes one event and one webhook post); the
client address comes from X-Forwarded-For only through proxies the operator trusts; domain
verification is rate limited."""

from __future__ import annotations

import html
import json
import re
import uuid

import httpx
import pytest

from tests.e2e.server import Server, new_project, wait_for
from tests.security.helpers import message_file, parsed_message
from tests.webhook_receiver import Receiver


@pytest.fixture(scope="module")
def hooks_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("abuse"), {"AUTORELAY_WEBHOOKS_ALLOW_PRIVATE": "1"}).start()
    yield srv
    srv.stop()


def test_a_scanner_fetching_the_pixel_and_a_link_a_hundred_times_counts_once(hooks_server):
    with Receiver() as receiver, hooks_server.client(hooks_server.keys["live"]) as api:
        hook = api.post("/webhooks", json={"url": receiver.url("/t"), "events": ["email.opened", "email.clicked"]})
        assert hook.status_code == 201
        page = '<html><body><a href="https://shop.example.com/x">Shop</a></body></html>'
        sent = api.post("/emails", json={"to": "s@example.com", "from": "a@acme.test", "subject": "Hi", "html": page})
        path = message_file(hooks_server, sent.json()["id"])
        assert wait_for(path.exists, 10)
        body = parsed_message(path).get_body(("html",)).get_content()
        (pixel,) = [html.unescape(u) for u in re.findall(r'src="([^"]+/track/open/[^"]+)"', body)]
        (link,) = [html.unescape(u) for u in re.findall(r'href="([^"]+/track/click/[^"]+)"', body)]
        with httpx.Client(timeout=10) as scanner:
            for _ in range(100):
                gif = scanner.get(pixel)
                assert gif.status_code == 200 and gif.content.startswith(b"GIF89a")
                click = scanner.get(link, follow_redirects=False)
                assert click.status_code == 302 and click.headers["location"] == "https://shop.example.com/x"
        detail = api.get(f"/emails/{sent.json()['id']}").json()
        assert (detail["email"]["opens"], detail["email"]["clicks"]) == (1, 5), detail["email"]
        assert wait_for(lambda: len(receiver.requests) >= 6, 10)
        kinds = sorted(json.loads(r.body)["type"] for r in receiver.requests)
        assert kinds == ["email.clicked"] * 5 + ["email.opened"], kinds


def _unsubscribe_until_refused(server: Server, forwarded_for) -> int:
    """POST /unsubscribe with a different X-Forwarded-For each time; how many before a 429."""
    with httpx.Client(base_url=server.base, timeout=10) as client:
        for n in range(1, 71):
            answer = client.post(
                "/api/v1/unsubscribe", json={"token": "x"}, headers={"X-Forwarded-For": forwarded_for(n)}
            )
            if answer.status_code == 429:
                return n
    return 0


def test_a_forged_forwarded_for_does_not_escape_the_per_ip_limit(tmp_path):
    server = Server(tmp_path / "untrusted").start()
    try:
        assert _unsubscribe_until_refused(server, lambda n: f"198.51.100.{n}") == 61, "60 a minute per client"
    finally:
        server.stop()


def test_a_trusted_proxy_forwards_each_clients_address(tmp_path):
    server = Server(tmp_path / "trusted", {"AUTORELAY_TRUSTED_PROXIES": "127.0.0.0/8"}).start()
    try:
        assert _unsubscribe_until_refused(server, lambda n: f"198.51.100.{n}") == 0, "each client its own budget"
        assert _unsubscribe_until_refused(server, lambda n: "203.0.113.9") == 61
    finally:
        server.stop()


def test_domain_verification_is_rate_limited(server):
    keys = new_project(server.data_dir, f"dns-{uuid.uuid4().hex[:6]}", lift=False)
    with server.client(keys["live"]) as client:
        domain = client.post("/domains", json={"domain": f"{uuid.uuid4().hex[:8]}.example"}).json()["id"]
        codes = [client.post(f"/domains/{domain}/verify").status_code for _ in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429, codes

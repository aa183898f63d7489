"""The webhooks page in a real Chromium against a real receiver on loopback: create an endpoint
(the secret shown once), send a test event that fails once and is retried, see each attempt in the
deliveries log with its error, replay it, pause, resume and delete."""

from __future__ import annotations

import os

import pytest
from standardwebhooks import Webhook as Verifier

from tests.dashboard.browsing import serious_problems, shoot, sign_in_with_link
from tests.dashboard.conftest import CHROMIUM, invite
from tests.e2e.server import Server
from tests.webhook_receiver import Receiver

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")


@pytest.fixture(scope="module")
def hook_server(tmp_path_factory):
    # Webhooks to plain http on loopback (the receiver) are allowed by this setting only.
    srv = Server(tmp_path_factory.mktemp("dash-hooks"), {"AUTORELAY_WEBHOOKS_ALLOW_PRIVATE": "1"}).start()
    yield srv
    srv.stop()


def test_an_owner_creates_tests_watches_and_replays_a_webhook(hook_server, browser):
    server, expect = hook_server, playwright.expect
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in_with_link(page, server.base, invite(server, "hooks@acme.test", role="owner"), "hooks@acme.test")

    with Receiver() as receiver:
        page.goto(f"{server.base}/app/webhooks")
        expect(page.get_by_text("No webhooks yet.")).to_be_visible()
        page.get_by_label("Endpoint URL").fill(receiver.url("/dash"))
        page.get_by_label("email.sent").check()
        page.get_by_role("button", name="Add webhook").click()
        secret = page.locator("#new-secret").inner_text()
        assert secret.startswith("whsec_")
        shoot(page, "webhooks")
        page.get_by_role("link", name="Deliveries and test events of this webhook").click()
        expect(page.get_by_text("No deliveries yet.")).to_be_visible()

        # The test event: the first attempt gets 500, the retry right after succeeds.
        receiver.statuses = [500]
        page.get_by_role("button", name="Send test event").click()
        expect(page.get_by_role("status").filter(has_text="A test event is on its way")).to_be_visible()
        row = page.locator("#delivery-rows tr").first
        expect(row.locator(".pill").first).to_have_text("succeeded", timeout=15_000)  # the log refreshes itself
        expect(row).to_contain_text("HTTP 500")
        expect(row.locator(".attempt")).to_have_count(2)
        shoot(page, "webhook")
        first, retry = receiver.wait_for(2)[:2]
        for request in (first, retry):
            payload = Verifier(secret).verify(request.body, request.headers)  # signed with the shown secret
            assert payload["data"]["test"] is True and payload["type"] in ("email.sent", "email.delivered")
        assert first.headers["webhook-id"] == retry.headers["webhook-id"]

        # Replay: posted once more, a third attempt in the log.
        row.get_by_role("button", name="Replay").click()
        expect(page.get_by_role("status").filter(has_text="Replayed")).to_be_visible()
        expect(page.locator("#delivery-rows tr").first.locator(".attempt")).to_have_count(3, timeout=15_000)
        assert receiver.wait_for(3)[2].headers["webhook-id"] == first.headers["webhook-id"]

        # Pause: no test events; resume; edit the events.
        page.get_by_role("button", name="Pause").click()
        expect(page.get_by_role("status").filter(has_text="Paused")).to_be_visible()
        expect(page.get_by_role("button", name="Send test event")).to_be_disabled()
        page.get_by_role("button", name="Resume").click()
        page.get_by_label("email.bounced").check()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
        expect(page.get_by_label("email.bounced")).to_be_checked()
        hook_path = page.url.split("?")[0].split(server.base)[1].removeprefix("/app/")

        assert serious_problems(browser, context, server.base, ["webhooks", hook_path]) == {}
        page.get_by_role("button", name="Delete webhook").click()
        expect(page.get_by_text("No webhooks yet.")).to_be_visible()
    context.close()

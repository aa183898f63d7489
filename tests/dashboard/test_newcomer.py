"""#36, as a newcomer meets AutoRelay in Chromium: the first URL they open, the tab icon, the
console. Each test failed before its fix (noted beside it) and shoots its pages at 1280 and 375 px."""

from __future__ import annotations

import os
import re
import time

import httpx
import pytest

from tests.dashboard.browsing import AXE, shoot, sign_in_with_link
from tests.dashboard.conftest import CHROMIUM, PASSWORD, invite
from tests.e2e.server import Server, autorelay, wait_for

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")
SIZES = {"wide": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 800}}


def _settled(api: httpx.Client, email_id: str) -> str:
    """The email's status once it is no longer queued (its delivery happened), within 10 s."""
    assert wait_for(lambda: api.get(f"/emails/{email_id}").json()["email"]["status"] != "queued", 10)
    return api.get(f"/emails/{email_id}").json()["email"]["status"]


def _axe(page) -> list[str]:
    page.evaluate(AXE)
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact)).map(v => v.id)"
    )


def test_the_first_url_a_person_opens_leads_somewhere(dash_server, browser, tmp_path):
    """Item 4: `/` and `/api/v1` answered {"error":"Not found"}; only the first start said where the
    dashboard is."""
    server = dash_server
    for size, viewport in SIZES.items():
        page = browser.new_page(viewport=viewport)
        page.goto(server.base + "/")
        playwright.expect(page.get_by_role("heading", name="Sign in to AutoRelay")).to_be_visible()
        assert re.search(r"/app/sign-in\?next=", page.url), page.url
        assert _axe(page) == []
        shoot(page, f"newcomer-front-door-{size}")
        page.close()
    index = httpx.get(server.base + "/api/v1")
    assert index.status_code == 200 and index.json()["links"] == {
        "docs": "/docs",
        "openapi": "/api/v1/openapi.yaml",
        "health": "/healthz",
        "dashboard": "/app/",
    }
    assert httpx.get(server.base + "/api/v1/").json() == index.json()

    # A later start (no keys printed, no sign-in link) still says where everything is.
    again = Server(server.data_dir).start()
    try:
        banner = again.log.read_text()
    finally:
        again.stop()
    assert f"dashboard: {again.base}/app/" in banner and f"docs:      {again.base}/docs" in banner
    assert "welcome?token=" not in banner


def test_every_page_has_its_icon_and_the_console_stays_clean(dash_server, browser):
    """Item 10: /favicon.ico answered 404 on every page (43 console errors in one walk)."""
    server = dash_server
    context = browser.new_context(viewport=SIZES["wide"])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    sign_in_with_link(page, server.base, invite(server, "icons@acme.test", role="owner"), "icons@acme.test")
    for path in ["", "emails", "templates", "contacts", "campaigns", "domains", "webhooks", "keys", "settings"]:
        page.goto(f"{server.base}/app/{path}")
        page.wait_for_load_state("networkidle")
    page.goto(server.base + "/api/v1")  # a JSON page: the browser asks for /favicon.ico by itself
    page.wait_for_load_state("networkidle")
    assert failed == [] and errors == [], (failed, errors)
    icon = httpx.get(server.base + "/favicon.ico")
    assert (
        icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon" and icon.content[:4] == b"\0\0\1\0"
    )
    assert page.evaluate("document.querySelector('link[rel=icon]') === null")  # the JSON page has none
    page.goto(f"{server.base}/app/")
    assert page.evaluate("document.querySelector('link[rel=icon]').getAttribute('href')") == "/favicon.svg"
    context.close()


def test_a_text_only_email_is_accepted_and_shown_as_plain_text(dash_server, browser):
    """Item 11: the native API refused a text-only email ("html is required"); Resend and
    Postmark accept one."""
    server = dash_server
    with server.client(server.keys["live"]) as api:
        sent = api.post(
            "/emails",
            json={
                "to": "ann@example.com",
                "from": "App <hello@autorelay.net>",
                "subject": "Plain",
                "text": "Just text.",
            },
        )
        assert sent.status_code == 200, sent.text
        email_id = sent.json()["id"]
        nothing = api.post("/emails", json={"to": "ann@example.com", "from": "hello@autorelay.net", "subject": "x"})
        assert (
            nothing.status_code == 400
            and nothing.json()["error"] == "html or text is required when template_id is absent"
        )
    message = server.data_dir / "mail" / f"{email_id}.eml"
    for _ in range(100):
        if message.exists():
            break
        time.sleep(0.05)
    written = message.read_text()
    assert "Content-Type: text/plain" in written and "text/html" not in written and "Just text." in written

    context = browser.new_context(viewport=SIZES["wide"])
    page = context.new_page()
    sign_in_with_link(page, server.base, invite(server, "plain@acme.test"), "plain@acme.test")
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.goto(f"{server.base}/app/emails/{email_id}")
        playwright.expect(page.get_by_text("Plain text only")).to_be_visible()
        playwright.expect(page.locator("pre.text-part")).to_have_text("Just text.")
        assert page.locator("iframe.preview").count() == 0
        assert _axe(page) == []
        shoot(page, f"newcomer-text-only-{size}")
    context.close()


def test_reloading_the_keys_page_never_makes_a_second_key(dash_server, browser):
    """Item 5: the page that showed a new key was the POST's answer, so a reload made another key."""
    server = dash_server
    context = browser.new_context(viewport=SIZES["wide"])
    page = context.new_page()
    sign_in_with_link(page, server.base, invite(server, "keys@acme.test", role="owner"), "keys@acme.test")
    page.goto(f"{server.base}/app/keys")
    before = page.locator("tbody tr").count()
    page.get_by_label("Name").fill("Reload me")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").inner_text()
    assert key.startswith("ak_live_")
    shoot(page, "newcomer-key-created-wide")
    page.reload()
    playwright.expect(page.get_by_text("Its secret was shown once")).to_be_visible()
    assert key not in page.content() and page.locator("tbody tr").count() == before + 1
    assert _axe(page) == []
    page.set_viewport_size(SIZES["phone"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # the keys table scrolls in its card
    shoot(page, "newcomer-key-reloaded-phone")
    context.close()


def test_the_cli_says_what_kind_of_key_it_made(dash_server):
    """Item 5: `autorelay keys create` with no flags silently made a full-access live key."""
    out = autorelay(dash_server.data_dir, "keys", "create", extra=dash_server.extra)
    assert "Created a LIVE key with FULL access (every scope) for project default" in out
    assert "--test makes a test key" in out and re.search(r"^ak_live_[0-9a-f]{64}$", out, re.M)
    limited = autorelay(
        dash_server.data_dir, "keys", "create", "--test", "--scope", "emails.send", extra=dash_server.extra
    )
    assert "Created a TEST key with scopes emails.send" in limited and "--test makes" not in limited


def test_a_campaign_may_have_a_sender_name_and_a_mistake_keeps_the_form(dash_server, browser):
    """Item 1: the campaign form refused `News <news@...>` naming the API's field (`fromEmail is not
    a valid email address`) and wiped the whole form."""
    server = dash_server
    with server.client(server.keys["live"]) as api:
        readers = api.post("/lists", json={"name": "Named sender readers"}).json()["id"]
        api.post("/contacts", json={"email": "reader@example.com", "name": "Rea", "listId": readers})
    context = browser.new_context(viewport=SIZES["wide"])
    page = context.new_page()
    sign_in_with_link(page, server.base, invite(server, "news@acme.test"), "news@acme.test")
    page.goto(f"{server.base}/app/campaigns")
    page.get_by_label("Name").fill("Named sender")
    page.get_by_label("List").select_option(readers)
    page.get_by_label("Subject").fill("Hello {{ name }}")
    page.get_by_label("From").fill("Acme News <not an address>")
    page.get_by_role("button", name="Create draft").click()
    alert = page.get_by_role("alert")
    playwright.expect(alert).to_contain_text("the sender must be an address, or a name and an address")
    assert "fromEmail" not in alert.inner_text()
    # Everything typed is still there; only the wrong field needs a change.
    assert page.get_by_label("Name").input_value() == "Named sender"
    assert page.get_by_label("Subject", exact=True).input_value() == "Hello {{ name }}"
    assert page.get_by_label("List").input_value() == readers
    assert _axe(page) == []
    shoot(page, "newcomer-campaign-sender-refused-wide")
    page.get_by_label("From").fill("Acme News <news@acme.test>")
    page.get_by_role("button", name="Create draft").click()
    playwright.expect(page.get_by_role("heading", name="Named sender")).to_be_visible()
    page.set_viewport_size(SIZES["phone"])
    shoot(page, "newcomer-campaign-sender-named-phone")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Launch campaign").click()
    playwright.expect(page.get_by_role("status").filter(has_text="Launched")).to_be_visible()
    for _ in range(200):
        written = [p.read_text() for p in (server.data_dir / "mail").glob("*.eml")]
        mine = [m for m in written if "Subject: Hello Rea" in m]
        if mine:
            break
        time.sleep(0.05)
    assert mine and "From: Acme News <news@acme.test>" in mine[0]
    # A campaign's progress reads on a phone: nothing wider than the screen.
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert _axe(page) == []
    shoot(page, "newcomer-campaign-progress-phone")
    context.close()


def test_domains_say_which_records_are_missing_and_can_be_removed(tmp_path, browser):
    """Item 3: a failed verification showed in a green success banner, no record had a status, a
    domain could not be removed, and the SPF record named this server's MX whatever the mailer."""
    from tests.dns_server import DnsServer

    with DnsServer() as dns:
        settings = {
            "AUTORELAY_DNS_RESOLVER": dns.address,
            "AUTORELAY_MAILER": "smtp",
            "AUTORELAY_SMTP_HOST": "127.0.0.1",
            "AUTORELAY_SMTP_SPF_INCLUDE": "spf.relay.example",
        }
        server = Server(tmp_path / "data", settings).start()
        try:
            context = browser.new_context(viewport=SIZES["wide"])
            page = context.new_page()
            page.on("dialog", lambda dialog: dialog.accept())
            sign_in_with_link(page, server.base, invite(server, "dns@acme.test", role="owner"), "dns@acme.test")
            page.goto(f"{server.base}/app/domains")
            page.get_by_label("Domain").fill("news.shop.example")
            page.get_by_role("button", name="Add domain").click()
            card = page.get_by_role("region", name="news.shop.example")
            playwright.expect(card.get_by_text("v=spf1 include:spf.relay.example ~all")).to_be_visible()
            playwright.expect(card.get_by_text("not checked yet").first).to_be_visible()
            # Publish the DKIM record only: the check finds it, and says the others are missing.
            rows = card.locator("tbody tr")
            dkim = next(rows.nth(i) for i in range(rows.count()) if "_domainkey" in rows.nth(i).inner_text())
            cells = dkim.locator("td")
            dns.publish(
                cells.nth(0).inner_text(),
                cells.nth(1).locator("code").inner_text(),
                cells.nth(2).locator("code").inner_text(),
            )
            card.get_by_role("button", name="Verify now").click()
            warning = page.locator("p.warning")
            playwright.expect(warning).to_contain_text("news.shop.example is not verified yet")
            assert page.locator("p.notice").count() == 0  # not in a green success banner
            card = page.get_by_role("region", name="news.shop.example")
            assert card.locator(".pill.sent", has_text="found").count() == 1
            assert card.get_by_text("not found").count() == rows.count() - 1
            assert _axe(page) == []
            shoot(page, "newcomer-domain-missing-wide")
            page.set_viewport_size(SIZES["phone"])
            shoot(page, "newcomer-domain-missing-phone")
            page.get_by_role("button", name="Remove news.shop.example").click()
            playwright.expect(page.get_by_text("news.shop.example was removed")).to_be_visible()
            assert page.get_by_role("region", name="news.shop.example").count() == 0
            context.close()
        finally:
            server.stop()


def test_a_local_webhook_refusal_says_how_and_test_mail_events_say_test(dash_server, browser, tmp_path):
    """Item 2: a local receiver was refused ("url must be an https:// URL") with no hint of the setting
    that allows it; the new webhook's link named the endpoint but led to the dashboard; the page said
    retries last "a day and a half" (the schedule is about 27.5 h); events of test-key mail lacked
    `test: true`."""
    import json

    from tests.webhook_receiver import Receiver

    server = dash_server
    context = browser.new_context(viewport=SIZES["wide"])
    page = context.new_page()
    sign_in_with_link(page, server.base, invite(server, "hook@acme.test", role="owner"), "hook@acme.test")
    page.goto(f"{server.base}/app/webhooks")
    playwright.expect(page.get_by_text("about 27.5 hours")).to_be_visible()
    page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/hooks")
    page.get_by_label("email.sent").check()
    page.get_by_role("button", name="Add webhook").click()
    alert = page.get_by_role("alert")
    playwright.expect(alert).to_contain_text("for local development")
    playwright.expect(alert).to_contain_text("autorelay webhooks local on")
    playwright.expect(alert).to_contain_text("AUTORELAY_WEBHOOKS_ALLOW_PRIVATE=1")
    assert _axe(page) == []
    shoot(page, "newcomer-webhook-local-refused-wide")
    page.set_viewport_size(SIZES["phone"])
    shoot(page, "newcomer-webhook-local-refused-phone")
    context.close()

    # Allowed without a restart (it needed one): the operator's command, then the same form again.
    # The link after creating says where it goes, the log shows what the endpoint answered, and
    # test mail says so.
    with Receiver() as receiver:
        local = Server(tmp_path / "local").start()
        try:
            context = browser.new_context(viewport=SIZES["wide"])
            page = context.new_page()
            sign_in_with_link(page, local.base, invite(local, "dev@acme.test", role="owner"), "dev@acme.test")
            page.goto(f"{local.base}/app/webhooks")
            page.get_by_label("Endpoint URL").fill(receiver.url("/made"))
            page.get_by_label("email.sent").check()
            page.get_by_role("button", name="Add webhook").click()
            playwright.expect(page.get_by_role("alert")).to_contain_text("autorelay webhooks local on")
            said = autorelay(local.data_dir, "webhooks", "local", "on")
            assert "may now reach http:// and local addresses" in said and "development machine only" in said
            made = page.get_by_role("link", name="Deliveries and test events of this webhook")
            for _ in range(40):  # the server's project cache lasts a few seconds
                page.get_by_role("button", name="Add webhook").click()
                page.wait_for_load_state()
                if made.count():
                    break
                time.sleep(0.25)
            made.click()
            # The log shows what was sent and what the endpoint answered, refusing once, then taking it.
            receiver.statuses = [500]
            page.get_by_role("button", name="Send test event").click()
            row = page.locator("#delivery-rows tr").first
            playwright.expect(row).to_contain_text("HTTP 500: nope", timeout=15_000)
            page.get_by_role("button", name="Send test event").click()  # taken this time
            playwright.expect(page.locator("#delivery-rows tr").first.locator(".answer")).to_contain_text(
                "HTTP 200: ok", timeout=15_000
            )
            row = page.locator("#delivery-rows tr").nth(1)
            row.get_by_text("Payload").click()
            playwright.expect(row.locator("details.payload pre")).to_contain_text('"test":true')
            assert _axe(page) == []
            shoot(page, "newcomer-webhook-log-wide")
            page.set_viewport_size(SIZES["phone"])
            shoot(page, "newcomer-webhook-log-phone")
            context.close()
            with local.client(local.keys["test"]) as test_key:
                made = test_key.post("/webhooks", json={"url": receiver.url("/test-mode"), "events": ["email.sent"]})
                assert made.status_code == 201, made.text
                test_key.post(
                    "/emails",
                    json={"to": "ann@example.com", "from": "x@anywhere.example", "subject": "T", "html": "<p>t</p>"},
                )
            for _ in range(200):
                landed = [r for r in receiver.requests if r.path == "/test-mode"]
                if landed:
                    break
                time.sleep(0.05)
            (got,) = landed
            assert json.loads(got.body)["data"]["test"] is True
        finally:
            local.stop()


def test_the_overview_counts_only_verified_domains_and_shows_one_legend(tmp_path, browser):
    """Item 6: an unverified domain counted as a sending domain; the chart's legend appeared twice
    (uPlot's own under the page's); the overview's "delivered 0" contradicted a campaign's
    "Delivered 23" for the same mail (a campaign now says Sent, and the overview says what each means)."""
    server = Server(tmp_path / "data").start()
    try:
        with server.client(server.keys["live"]) as api:
            assert api.post("/domains", json={"domain": "waiting.example"}).status_code == 201
            api.post(
                "/emails", json={"to": "a@example.com", "from": "hi@acme.test", "subject": "x", "html": "<p>x</p>"}
            )
        context = browser.new_context(viewport=SIZES["wide"])
        page = context.new_page()
        sign_in_with_link(page, server.base, invite(server, "o@acme.test", role="owner"), "o@acme.test")
        numbers = page.get_by_role("region", name="Project")
        # The test server's operator-verified test domains, and the one still waiting for DNS.
        verified = int(numbers.locator(".number").nth(1).locator(".value").inner_text())
        label = numbers.locator(".number").nth(1).locator(".label").inner_text()
        assert label.startswith("verified sending domain") and "(1 waiting for DNS)" in label, label
        assert verified >= 1
        playwright.expect(page.locator("#chart canvas")).to_have_count(1)
        assert page.locator("#chart .u-legend").count() == 0 and page.locator(".legend").count() >= 1
        # "delivered 0" beside a campaign's "Delivered 23" for the same mail: both pages now say sent,
        # and what delivered means.
        playwright.expect(page.get_by_text("what a campaign counts as sent")).to_be_visible()
        assert _axe(page) == []
        shoot(page, "newcomer-overview-wide")
        page.set_viewport_size(SIZES["phone"])
        shoot(page, "newcomer-overview-phone")
        context.close()
    finally:
        server.stop()


def test_a_person_changes_their_password_and_suppresses_an_address_by_hand(dash_server, browser):
    """Item 9: no way to change one's password in the dashboard (only `autorelay users link`), no way
    to add a suppression by hand, and suppressions were reachable only from Contacts."""
    server = dash_server
    context = browser.new_context(viewport=SIZES["wide"])
    page = context.new_page()
    sign_in_with_link(page, server.base, invite(server, "pw@acme.test"), "pw@acme.test")
    other = browser.new_context(viewport=SIZES["wide"])  # the same person signed in elsewhere
    elsewhere = other.new_page()
    elsewhere.goto(f"{server.base}/app/sign-in")
    elsewhere.get_by_label("Email").fill("pw@acme.test")
    elsewhere.get_by_label("Password").fill(PASSWORD)
    elsewhere.get_by_role("button", name="Sign in").click()
    playwright.expect(elsewhere.get_by_role("heading", name="Overview")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_label("Current password").fill("not the password")
    page.get_by_label("New password", exact=True).fill("a brand new password")
    page.get_by_label("The new password again").fill("a brand new password")
    page.get_by_role("button", name="Change password").click()
    playwright.expect(page.get_by_role("alert")).to_have_text("The current password is not right")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("a brand new password")
    page.get_by_label("The new password again").fill("a brand new password")
    page.get_by_role("button", name="Change password").click()
    playwright.expect(page.get_by_role("status").filter(has_text="Your password is changed")).to_be_visible()
    assert _axe(page) == []
    shoot(page, "newcomer-password-changed-wide")
    elsewhere.goto(f"{server.base}/app/overview")  # the other session ended
    playwright.expect(elsewhere.get_by_role("heading", name="Sign in to AutoRelay")).to_be_visible()
    other.close()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Suppressions").click()
    page.get_by_label("Address", exact=True).fill("asked-by-phone@example.com")
    page.get_by_label("Why (for your colleagues)").fill("Asked by phone")
    page.get_by_role("button", name="Suppress").click()
    playwright.expect(page.get_by_role("status")).to_contain_text("asked-by-phone@example.com is suppressed")
    row = page.locator("tr", has_text="asked-by-phone@example.com")
    playwright.expect(row.locator(".pill")).to_have_text("manual")
    assert page.get_by_role("link", name="Suppressions").get_attribute("aria-current") == "page"
    assert _axe(page) == []
    page.set_viewport_size(SIZES["phone"])
    shoot(page, "newcomer-suppressed-by-hand-phone")
    context.close()
    with server.client(server.keys["live"]) as api:
        sent = api.post(
            "/emails",
            json={"to": "asked-by-phone@example.com", "from": "hi@acme.test", "subject": "x", "html": "<p>x</p>"},
        ).json()["id"]
        status = _settled(api, sent)
    assert status == "failed"  # suppressed: it never reached the mailer


def test_the_email_log_says_what_its_filters_mean_and_an_email_shows_its_headers(dash_server, browser):
    """Item 7 (in part): the date filter "From" sat beside "To" and read as a sender; the detail
    promised headers and showed none of the message's; on a phone the Sent column was cut off."""
    server = dash_server
    with server.client(server.keys["live"]) as api:
        sent = api.post(
            "/emails",
            json={
                "to": "log@example.com",
                "cc": "copy@example.com",
                "from": "Shop <hi@acme.test>",
                "subject": "Your receipt",
                "html": "<p>Thanks</p>",
                "headers": {"X-Order": "A-1042"},
                "tags": {"kind": "receipt"},
            },
        ).json()["id"]
        _settled(api, sent)
    context = browser.new_context(viewport=SIZES["wide"])
    page = context.new_page()
    sign_in_with_link(page, server.base, invite(server, "log@acme.test"), "log@acme.test")
    page.goto(f"{server.base}/app/emails")
    assert page.get_by_label("Sent on or after").get_attribute("type") == "date"
    assert page.get_by_label("Sent on or before").get_attribute("type") == "date"
    assert page.get_by_label("From", exact=True).count() == 0
    page.get_by_role("link", name="Your receipt").first.click()
    page.get_by_text("Headers as sent").click()
    headers = page.locator("details.headers")
    for name, value in (("X-Order", "A-1042"), ("Cc", "copy@example.com"), ("From", "Shop <hi@acme.test>")):
        playwright.expect(headers.locator("dt", has_text=name).first).to_be_visible()
        playwright.expect(headers.get_by_text(value).first).to_be_visible()
    playwright.expect(page.locator("dt", has_text="tag kind")).to_be_visible()
    assert _axe(page) == []
    shoot(page, "newcomer-email-headers-wide")
    page.set_viewport_size(SIZES["phone"])
    page.goto(f"{server.base}/app/emails")
    row = page.locator("#email-rows tr", has_text="Your receipt").first
    playwright.expect(row.locator(".phone-only")).to_be_visible()  # when it was sent, on the row
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shoot(page, "newcomer-email-log-phone")
    row.get_by_role("link", name="Your receipt").click()  # one email, on a phone
    playwright.expect(page.get_by_role("heading", name="Your receipt")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shoot(page, "newcomer-email-phone")
    context.close()


def test_the_email_log_searches_subjects_addresses_and_tags_and_the_url_keeps_it(dash_server, browser):
    """Item 7: there was no search by subject or tag (only the first recipient, whole)."""
    server = dash_server
    with server.client(server.keys["live"]) as api:
        for subject, to, tags in (
            ("Password reset for Zoë", "zoe@example.com", {"flow": "security"}),
            # an address no other test on this shared server sends to
            ("Weekly digest", "searcher@example.com", {"flow": "digest"}),
            ("Receipt for order 7731", "searcher@example.com", {"flow": "billing"}),
        ):
            api.post(
                "/emails",
                json={"to": to, "from": "hi@acme.test", "subject": subject, "html": "<p>x</p>", "tags": tags},
            ).raise_for_status()
    context = browser.new_context(viewport=SIZES["wide"])
    page = context.new_page()
    sign_in_with_link(page, server.base, invite(server, "search@acme.test"), "search@acme.test")
    page.goto(f"{server.base}/app/emails")
    rows = page.locator("#email-rows tr")

    def search(words: str) -> list[str]:
        page.get_by_label("Search").fill(words)
        page.get_by_label("Search").press("Enter")
        page.wait_for_load_state()
        return sorted(rows.locator("td a").all_inner_texts())

    assert search("reset zoe") == ["Password reset for Zoë"], "words of the subject, accents folded"
    assert "q=reset+zoe" in page.url
    page.reload()
    assert page.get_by_label("Search").input_value() == "reset zoe", "a reload keeps the search"
    assert rows.count() == 1
    assert search("searcher@example") == ["Receipt for order 7731", "Weekly digest"], "an address, in part"
    assert search("billing") == ["Receipt for order 7731"], "a tag's value"
    assert search("7731") == ["Receipt for order 7731"]
    page.get_by_label("Status").select_option("failed")  # other filters keep the search
    page.wait_for_url(re.compile(r"status=failed"))
    assert "q=7731" in page.url and page.get_by_label("Search").input_value() == "7731"
    page.get_by_label("Status").select_option("")
    page.wait_for_url(re.compile(r"^(?!.*status=failed)"))
    assert rows.count() == 1
    assert _axe(page) == []
    shoot(page, "newcomer-email-search-wide")
    assert search("nothing-like-this") == []
    playwright.expect(page.get_by_text("No emails match these filters")).to_be_visible()
    page.set_viewport_size(SIZES["phone"])
    assert search("digest") == ["Weekly digest"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shoot(page, "newcomer-email-search-phone")
    context.close()


def test_the_studio_saves_clean_html_refuses_an_empty_email_and_names_a_broken_variable(dash_server, browser):
    """Item 8: saved HTML began `<!doctype html><!DOCTYPE html>` with box-sizing styles on <head> and
    <meta>; an empty body saved without a word; `Hello {{ name ` with the editor's &nbsp; was reported
    as "unexpected char '&' at 389"; the Desktop preview (371 px) was narrower than the Phone one;
    a version's View showed its variables blank."""
    server = dash_server
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    sign_in_with_link(page, server.base, invite(server, "studio@acme.test", role="owner"), "studio@acme.test")
    page.goto(f"{server.base}/app/templates")
    page.get_by_label("Template name").fill("Clean save")
    page.get_by_role("button", name="Create and design").click()
    page.locator("#studio[data-ready]").wait_for()
    template_id = page.locator("#template-id").inner_text()
    status = page.locator("#studio-status")

    def design(html: str) -> None:
        page.evaluate("(html) => grapesjs.editors[0].setComponents(html)", html)

    design("")
    page.get_by_role("button", name="Save").click()
    playwright.expect(status).to_contain_text("The email is empty: add some text or an image before saving.")
    design("<p>Hello {{ name&nbsp;</p>")
    page.get_by_role("button", name="Save").click()
    playwright.expect(status).to_contain_text("near “")
    playwright.expect(status).to_contain_text("type that space again")
    assert " at 3" not in status.inner_text()
    design("<p>Hello {{ name }}, welcome.</p>")
    page.get_by_role("button", name="Save").click()
    playwright.expect(status).to_contain_text("Saved as version")
    with httpx.Client(
        base_url=f"{server.base}/api/v1", headers={"Authorization": f"Bearer {server.keys['live']}"}
    ) as api:
        saved = api.get(f"/templates/{template_id}").json()["html"]
    assert saved.lower().count("<!doctype") == 1 and saved.startswith("<!doctype html>")
    head = saved.split("<body", 1)[0]
    assert "style=" not in head, head
    desktop = page.locator("#preview-desktop").bounding_box()["width"]
    phone = page.locator("#preview-phone").bounding_box()["width"]
    assert desktop >= 600 and phone == 375, (desktop, phone)
    assert _axe(page) == []
    shoot(page, "newcomer-studio-wide")

    view = page.get_by_role("link", name="View version 2")
    with context.expect_page() as opened:
        view.click()
    version = opened.value
    version.wait_for_load_state()
    playwright.expect(version.get_by_text("Hello [name], welcome.")).to_be_visible()
    context.close()


def test_the_cli_sends_lists_and_says_where_its_links_point(dash_server):
    """Item 12: no `send`, `templates`, `campaigns` or `webhooks` commands; `users link` printed port
    3000 whatever port the server ran on, without a word."""
    server = dash_server
    out = autorelay(
        server.data_dir,
        "send",
        "--to",
        "cli@example.com",
        "--from",
        "Ops <ops@acme.test>",
        "--subject",
        "From the terminal",
        "--text",
        "Plain and simple.",
        extra=server.extra,
    )
    email_id = re.search(r"^(em_\w+) queued \(live\)", out, re.M).group(1)
    with server.client(server.keys["live"]) as api:
        _settled(api, email_id)
        assert api.get(f"/emails/{email_id}").json()["email"]["status"] == "sent"  # the running server sent it
        api.post("/templates", json={"name": "Receipt", "subject": "Your receipt", "html": "<p>x</p>"})
        readers = api.post("/lists", json={"name": "CLI readers"}).json()["id"]
        api.post(
            "/campaigns",
            json={
                "name": "CLI June",
                "subject": "s",
                "fromEmail": "a@acme.test",
                "listId": readers,
                "content": "<p>x</p>",
            },
        )
    assert "Receipt" in autorelay(server.data_dir, "templates", "list", extra=server.extra)
    assert "CLI June" in autorelay(server.data_dir, "campaigns", "list", extra=server.extra)
    hooks = autorelay(server.data_dir, "webhooks", "list", extra=server.extra)
    assert hooks.startswith(("Id", "(no webhooks)")), hooks
    invite(server, "cli-link@acme.test")
    linked = autorelay(server.data_dir, "users", "link", "cli-link@acme.test", extra=server.extra)
    assert "AUTORELAY_PUBLIC_URL is not set" in linked


def test_the_overview_walks_a_newcomer_through_the_first_steps(tmp_path, browser):
    """Beyond the peers: a checklist on the overview until a test email is sent, a domain verified
    and a live email delivered; then it goes away."""
    server = Server(tmp_path / "data").start()  # its operator-verified test domains count as verified
    try:
        context = browser.new_context(viewport=SIZES["wide"])
        page = context.new_page()
        sign_in_with_link(page, server.base, invite(server, "first@acme.test", role="owner"), "first@acme.test")
        steps = page.get_by_role("region", name="Getting started")
        playwright.expect(steps.locator("li.todo")).to_have_count(2)
        playwright.expect(steps.get_by_role("link", name=re.compile("Send a test email"))).to_be_visible()
        assert _axe(page) == []
        shoot(page, "newcomer-first-steps-wide")
        page.set_viewport_size(SIZES["phone"])
        shoot(page, "newcomer-first-steps-phone")
        with server.client(server.keys["test"]) as test_key, server.client(server.keys["live"]) as live_key:
            test_key.post(
                "/emails", json={"to": "a@example.com", "from": "x@y.example", "subject": "t", "html": "<p>t</p>"}
            )
            page.reload()
            playwright.expect(steps.locator("li.todo")).to_have_count(1)
            live = live_key.post(
                "/emails", json={"to": "b@example.com", "from": "hi@acme.test", "subject": "l", "html": "<p>l</p>"}
            ).json()["id"]
            _settled(live_key, live)
        page.reload()
        playwright.expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        assert page.get_by_role("region", name="Getting started").count() == 0
        context.close()
    finally:
        server.stop()


def test_the_dashboard_follows_a_dark_system_setting_and_its_header_keeps_to_one_line(dash_server, browser):
    """Beyond the items: there was no dark theme (the peers follow the system setting), and since
    Suppressions joined the menu the signed-in user wrapped onto a second header line at 1280 px."""
    server = dash_server
    with server.client(server.keys["live"]) as api:
        sent = api.post(
            "/emails",
            json={"to": "dark@example.com", "from": "hi@acme.test", "subject": "At night", "html": "<p>x</p>"},
        ).json()["id"]
        _settled(api, sent)
    context = browser.new_context(viewport=SIZES["wide"], color_scheme="dark")
    page = context.new_page()
    sign_in_with_link(page, server.base, invite(server, "night.owl@acme.test", role="owner"), "night.owl@acme.test")
    pages = ["overview", "emails", f"emails/{sent}", "templates", "contacts", "campaigns", "webhooks", "keys"]
    pages += ["domains", "suppressions", "settings"]
    for path in pages:
        page.goto(f"{server.base}/app/{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("getComputedStyle(document.documentElement).backgroundColor") == "rgb(15, 20, 27)", path
        assert _axe(page) == [], path  # colour contrast included: every pair of the dark palette
        header = page.locator("header.top").bounding_box()
        assert header["height"] < 70, f"{path}: the header wraps ({header['height']} px)"
    page.goto(f"{server.base}/app/overview")
    page.wait_for_load_state("networkidle")
    shoot(page, "newcomer-dark-overview-wide")
    page.goto(f"{server.base}/app/emails/{sent}")
    shoot(page, "newcomer-dark-email-wide")

    # The account menu opens from the keyboard and holds the password link and signing out.
    page.locator("summary", has_text="Your account").focus()
    page.keyboard.press("Enter")
    menu = page.locator("details.account .menu")
    playwright.expect(menu.get_by_text("night.owl@acme.test")).to_be_visible()
    playwright.expect(menu.get_by_role("link", name="Change your password")).to_be_visible()
    playwright.expect(menu.get_by_role("button", name="Sign out")).to_be_visible()
    assert _axe(page) == []
    shoot(page, "newcomer-dark-account-menu-wide")
    page.set_viewport_size(SIZES["phone"])
    for path in ("overview", "emails"):
        page.goto(f"{server.base}/app/{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
        shoot(page, f"newcomer-dark-{path}-phone")
    signed_in = context.storage_state()
    context.close()

    light = browser.new_context(viewport=SIZES["wide"], color_scheme="light", storage_state=signed_in)
    page = light.new_page()
    page.goto(f"{server.base}/app/overview")
    assert page.evaluate("getComputedStyle(document.documentElement).backgroundColor") == "rgb(245, 247, 250)"
    assert page.locator("header.top").bounding_box()["height"] < 70
    shoot(page, "newcomer-light-header-wide")
    light.close()

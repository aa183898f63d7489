"""The dashboard as a person uses it, in a real Chromium: sign in through the printed link, create a
key and read it once, send with it and watch the email arrive in the log without a reload, open
it (rendered HTML, events, download), revoke the key, add a domain, see test-mode mail, sign out."""

from __future__ import annotations

import os
import re
import time

import httpx
import pytest

from tests.dashboard.browsing import AXE, nav, serious_problems, shoot, sign_in_with_link, wait_until
from tests.dashboard.conftest import CHROMIUM, PASSWORD, first_owner_link, invite
from tests.e2e.server import autorelay, new_project

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")

HOSTILE_HTML = (
    "<h1>Hello dashboard</h1><p>From <b>the API</b>.</p>"
    "<script>parent.document.title = 'pwned'; document.body.append('script ran')</script>"
    "<img src=x onerror=\"parent.document.title = 'pwned'\">"
)


def test_a_newcomer_signs_in_sends_and_sees_it_all(dash_server, browser):
    server = dash_server
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    expect = playwright.expect

    # Sign in through the link `serve` printed: choose an email and a password.
    page.goto(first_owner_link(server))
    expect(page.get_by_role("heading", name="Welcome to AutoRelay")).to_be_visible()
    shoot(page, "welcome")
    page.get_by_label("Your email").fill("owner@acme.test")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("The same password again").fill(PASSWORD)
    page.get_by_role("button", name="Save and sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator("#chart canvas")).to_have_count(1)  # uPlot drew the chart
    shoot(page, "overview")

    # A live key, shown once.
    nav(page).get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("Browser test")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").inner_text()
    assert key.startswith("ak_live_") and len(key) == 72
    shoot(page, "keys")
    page.goto(f"{server.base}/app/keys")
    assert key not in page.content(), "a key is shown only once"

    # The log updates by itself when the API sends.
    nav(page).get_by_role("link", name="Emails").click()
    expect(page.get_by_role("heading", name="No emails yet")).to_be_visible()
    api = httpx.Client(base_url=f"{server.base}/api/v1", headers={"Authorization": f"Bearer {key}"})
    sent = api.post(
        "/emails",
        json={
            "to": "reader@example.com",
            "from": "Acme <news@acme.test>",
            "subject": "Dashboard hello",
            "html": HOSTILE_HTML,
        },
    )
    assert sent.status_code == 200, sent.text
    row = page.get_by_role("row").filter(has_text="Dashboard hello")
    expect(row).to_be_visible(timeout=10_000)
    expect(row.locator(".pill").first).to_have_text("sent", timeout=10_000)
    shoot(page, "emails")

    # The email: envelope, events, the HTML in its sandbox, the text part, the message itself.
    row.get_by_role("link", name="Dashboard hello").click()
    expect(page.get_by_role("heading", name="Dashboard hello")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("queued")
    expect(page.locator(".timeline")).to_contain_text("sent")
    frame = page.frame_locator("iframe.preview")
    expect(frame.get_by_role("heading", name="Hello dashboard")).to_be_visible()
    time.sleep(0.5)
    assert page.title() != "pwned" and "script ran" not in frame.locator("body").inner_text()
    shoot(page, "email")
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download the message (.eml)").click()
    raw = open(waiting.value.path(), "rb").read()
    assert b"Subject: Dashboard hello" in raw and sent.json()["messageId"].encode() in raw

    # Revoking the key: the API refuses it at once.
    nav(page).get_by_role("link", name="API keys").click()
    page.get_by_role("row").filter(has_text="Browser test").get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("row").filter(has_text="Browser test")).to_contain_text("revoked")
    assert wait_until(lambda: api.post("/emails", json={}).status_code == 401)

    # A sending domain and its records.
    nav(page).get_by_role("link", name="Domains").click()
    page.get_by_label("Domain").fill("dash.example.com")
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_role("heading", name="dash.example.com")).to_be_visible()
    records = page.get_by_role("table", name="DNS records for dash.example.com")
    expect(records).to_contain_text("_domainkey.dash.example.com")
    expect(records).to_contain_text("v=DMARC1")
    shoot(page, "domains")

    # Test-mode mail is in the log, marked as such.
    with httpx.Client(
        base_url=f"{server.base}/api/v1", headers={"Authorization": f"Bearer {server.keys['test']}"}
    ) as test:
        assert (
            test.post(
                "/emails",
                json={
                    "to": "dev@example.com",
                    "from": "me@anything.test",
                    "subject": "From a test key",
                    "html": "<p>t</p>",
                },
            ).status_code
            == 200
        )
    page.goto(f"{server.base}/app/emails?mode=test")
    test_row = page.get_by_role("row").filter(has_text="From a test key")
    expect(test_row).to_be_visible(timeout=10_000)
    expect(test_row.locator(".pill.test")).to_have_text("test")
    expect(page.get_by_role("row").filter(has_text="Dashboard hello")).to_have_count(0)

    # Filters by recipient and by day, kept in the URL.
    page.goto(f"{server.base}/app/emails")
    page.get_by_label("To").fill("reader@example.com")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"to=reader%40example.com"))
    expect(page.get_by_role("row").filter(has_text="Dashboard hello")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="From a test key")).to_have_count(0)
    page.goto(f"{server.base}/app/emails?until=2000-01-01")
    expect(page.get_by_text("No emails match these filters.")).to_be_visible()

    page.goto(f"{server.base}/app/settings")
    page.get_by_label("Name").fill("Acme web")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_label("Name")).to_have_value("Acme web")
    for name in ("suppressions", "settings"):
        page.goto(f"{server.base}/app/{name}")
        shoot(page, name)

    # Accessibility: axe-core finds nothing serious on any page (labels, contrast, names, landmarks).
    audit = browser.new_context(
        viewport={"width": 1280, "height": 900}, bypass_csp=True, storage_state=context.storage_state()
    )
    checker = audit.new_page()
    email_page = f"emails/{sent.json()['id']}"
    for name in ("overview", "emails", email_page, "keys", "domains", "suppressions", "settings"):
        checker.goto(f"{server.base}/app/{name}")
        checker.evaluate(AXE)
        found = checker.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => ['serious', 'critical'].includes(v.impact))"
            ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
        )
        assert found == [], f"{name}: {found}"
    audit.close()

    # A phone-width screen.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=context.storage_state())
    small = phone.new_page()
    for name in ("overview", "emails"):
        small.goto(f"{server.base}/app/{name}")
        assert small.evaluate("document.documentElement.scrollWidth") <= 390, f"{name} scrolls sideways"
        shoot(small, f"{name}-phone")
    phone.close()

    # Signed out, the pages refuse.
    page.locator("summary", has_text="Your account").click()  # the account menu in the header
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to AutoRelay")).to_be_visible()
    page.goto(f"{server.base}/app/emails")
    expect(page.get_by_role("heading", name="Sign in to AutoRelay")).to_be_visible()
    shoot(page, "sign-in")
    page.get_by_label("Email").fill("owner@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Emails")).to_be_visible()  # back where they were going
    context.close()


def test_the_overview_shows_a_sending_domains_warm_up(dash_server, browser):
    server = dash_server
    autorelay(server.data_dir, "warmup", "set", "acme.test", "--daily", "5000,10000,20000", extra=server.extra)
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        # A project of its own: this module's tests may run on other workers, with servers of their own.
        new_project(server.data_dir, "warm-up")
        sign_in_with_link(page, server.base, invite(server, "warm@acme.test", project="warm-up"), "warm@acme.test")
        warmup = page.get_by_role("region", name="Warm-up")
        # The server's pacer reads pacing settings at most every 10 s: a send by another test just
        # before may have it holding the settings from before `warmup set` for that long.
        for _ in range(12):
            if warmup.count():
                break
            page.wait_for_timeout(1000)
            page.reload()
        playwright.expect(warmup).to_contain_text("0 of 5,000")
        playwright.expect(warmup).to_contain_text("from acme.test in 24 h under its warm-up (day 1 of 3)")
        used = warmup.get_by_role("progressbar", name="acme.test's warm-up volume used today")
        playwright.expect(used).to_be_visible()
        shoot(page, "overview-warmup")
        assert serious_problems(browser, context, server.base, ["overview"]) == {}
        context.close()
    finally:
        autorelay(server.data_dir, "warmup", "clear", "acme.test", extra=server.extra)

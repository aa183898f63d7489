"""Campaigns in a real Chromium: a campaign from a template to a list, previewed as a real
contact, tested, launched and followed to completed; a tracking pixel and a link fetched from a
delivered message move the stats and the most clicked links; a scheduled campaign paused and
resumed."""

from __future__ import annotations

import email
import email.policy
import html
import os
import re

import httpx
import pytest

from tests.dashboard.browsing import serious_problems, shoot, sign_in_with_link
from tests.dashboard.conftest import CHROMIUM, invite

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")
TEMPLATE = (
    '<table style="width:100%"><tr><td><h1>Hello {{ name }}</h1>'
    '<p>Spring is here. <a href="https://shop.example.com/spring">See the shop</a></p></td></tr></table>'
)


def delivered(server, subject: str) -> list[email.message.EmailMessage]:
    found = []
    for path in (server.data_dir / "mail").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["Subject"] == subject:
            found.append(message)
    return found


def test_a_marketer_sends_a_campaign_and_watches_it_land(dash_server, browser):
    server, expect = dash_server, playwright.expect
    with httpx.Client(
        base_url=f"{server.base}/api/v1", headers={"Authorization": f"Bearer {server.keys['live']}"}
    ) as api:
        template = api.post("/templates", json={"name": "Spring", "subject": "Spring, {{ name }}", "html": TEMPLATE})
        assert template.status_code in (200, 201), template.text
        target = api.post("/lists", json={"name": "Spring readers"}).json()["id"]
        rows = [{"email": f"spring{n}@example.com", "name": f"Reader {n}"} for n in range(20)]
        assert api.post("/contacts/import", json={"listId": target, "contacts": rows}).json()["importedCount"] == 20

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in_with_link(page, server.base, invite(server, "marketer@acme.test", role="owner"), "marketer@acme.test")
    page.goto(f"{server.base}/app/campaigns")
    expect(page.get_by_text("No campaigns yet.")).to_be_visible()
    page.get_by_label("Name").fill("Spring news")
    page.get_by_label("List").select_option(label="Spring readers (20)")
    page.get_by_label("Content").select_option(label="Template: Spring")
    page.get_by_label("From").fill("news@acme.test")
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_role("heading", name="Spring news")).to_be_visible()
    expect(page.get_by_label("Subject", exact=True)).to_have_value("Spring, {{ name }}")

    # Preview as a real contact of the list, then a test send.
    page.get_by_label("As").select_option(label="spring3@example.com (Reader 3)")
    page.get_by_role("button", name="Show").click()
    expect(page.frame_locator("#campaign-preview").get_by_role("heading", name="Hello Reader 3")).to_be_visible()
    expect(page.frame_locator("#campaign-preview").get_by_role("link", name="Unsubscribe")).to_be_visible()
    page.get_by_label("Send a test to").fill("me@acme.test")
    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_role("status").filter(has_text="Test queued")).to_be_visible()
    shoot(page, "campaign-draft")

    # Launch now and follow it to the end.
    page.get_by_role("button", name="Launch campaign").click()
    expect(page.get_by_role("status").filter(has_text="Launched")).to_be_visible()
    expect(page.locator("#campaign-status")).to_have_text("completed", timeout=30_000)
    expect(page.locator("#campaign-done")).to_have_text("20")
    expect(page.locator("#stat-sent")).to_have_text("20")

    # A reader opens the message and clicks its link: the stats move.
    messages = delivered(server, "Spring, Reader 5")
    assert len(messages) == 1 and len(delivered(server, "Spring, Reader 3")) == 2  # the campaign and the test
    body = messages[0].get_body(("html",)).get_content()
    (pixel,) = [html.unescape(u) for u in re.findall(r'src="([^"]+/track/open/[^"]+)"', body)]
    links = [html.unescape(u) for u in re.findall(r'href="([^"]+/track/click/[^"]+)"', body)]
    assert httpx.get(pixel).status_code == 200
    shop = [
        link
        for link in links
        if httpx.get(link, follow_redirects=False).headers.get("location", "").endswith("/spring")
    ]
    assert shop, links
    page.reload()
    expect(page.locator("#stat-opened")).to_have_text("1")
    expect(page.locator("#stat-clicked")).to_have_text("1")
    expect(page.get_by_role("row").filter(has_text="https://shop.example.com/spring")).to_contain_text("1")
    expect(page.locator("#chart canvas")).to_have_count(1)
    shoot(page, "campaign-sent")
    sent_path = page.url.split(server.base + "/app/")[1].split("?")[0]

    # A second campaign, scheduled an hour ahead: it waits, and pauses and resumes on request.
    page.goto(f"{server.base}/app/campaigns")
    page.get_by_label("Name").fill("Later news")
    page.get_by_label("List").select_option(label="Spring readers (20)")
    page.get_by_label("Content").select_option(label="Template: Spring")
    page.get_by_label("From").fill("news@acme.test")
    page.get_by_role("button", name="Create draft").click()
    page.get_by_label("Later, at the time below").check()
    page.get_by_label("Start at (UTC)").fill("2099-01-01T09:30")
    page.get_by_role("button", name="Launch campaign").click()
    expect(page.get_by_text("days ahead")).to_be_visible()  # too far: refused, still a draft
    later = page.evaluate("new Date(Date.now() + 3600e3).toISOString().slice(0, 16)")
    page.get_by_label("Later, at the time below").check()
    page.get_by_label("Start at (UTC)").fill(later)
    page.get_by_role("button", name="Launch campaign").click()
    expect(page.get_by_role("status").filter(has_text="Scheduled.")).to_be_visible()
    expect(page.locator("#campaign-progress")).to_contain_text("Starts at")
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("Paused by a person")).to_be_visible()
    shoot(page, "campaign-paused")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#campaign-status")).to_have_text("sending")
    assert delivered(server, "Spring, Reader 1") and len(delivered(server, "Spring, Reader 1")) == 1

    page.goto(f"{server.base}/app/campaigns")
    expect(page.get_by_role("row").filter(has_text="Later news").locator(".pill")).to_have_text("scheduled")
    shoot(page, "campaigns")
    assert serious_problems(browser, context, server.base, ["campaigns", sent_path]) == {}
    context.close()

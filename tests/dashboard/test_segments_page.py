"""The segment builder in a real Chromium: conditions chosen from the project's properties, lists
and events with the count and the sample following each change, all or any, saved, counted on the
list of segments, and chosen as a campaign's audience."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.dashboard.browsing import serious_problems, shoot, sign_in_with_link
from tests.dashboard.conftest import CHROMIUM, invite
from tests.e2e.server import new_project

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")


def test_a_marketer_builds_a_segment_with_a_live_count_and_sends_a_campaign_to_it(dash_server, browser):
    server, expect = dash_server, playwright.expect
    project = f"segs-{uuid.uuid4().hex[:6]}"
    keys = new_project(server.data_dir, project)
    with server.client(keys["live"]) as api:
        api.post("/contact-properties", json={"key": "plan", "type": "text", "default": "free"})
        target = api.post("/lists", json={"name": "Customers"}).json()["id"]
        rows = [{"email": f"{n}@example.com", "properties": {"plan": p}} for n, p in
                [("ann", "pro"), ("bob", "pro"), ("cy", "free"), ("dee", "team"), ("eve", "free")]]  # fmt: skip
        assert api.post("/contacts/import", json={"listId": target, "contacts": rows}).json()["importedCount"] == 5
        for _ in range(2):
            api.post("/events", json={"name": "purchased", "email": "cy@example.com"})

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in_with_link(page, server.base, invite(server, "segs@acme.test", project, role="owner"), "segs@acme.test")
    page.goto(f"{server.base}/app/contacts")
    page.get_by_role("link", name="Segments →").click()
    expect(page.get_by_text("No segments yet")).to_be_visible()
    page.get_by_role("link", name="New segment").click()

    page.get_by_label("Name", exact=True).fill("Pro or buyers")
    row = page.locator(".seg-row").first
    row.get_by_label("Condition", exact=True).select_option("property:plan")
    row.get_by_label("Operator").select_option("eq")
    row.get_by_label("Value").fill("pro")
    expect(page.locator("#segment-count")).to_have_text("2")
    expect(page.get_by_role("table", name="The first people the segment matches")).to_contain_text("ann@example.com")

    page.get_by_role("button", name="Add a condition").click()
    second = page.locator(".seg-row").nth(1)
    second.get_by_label("Condition", exact=True).select_option("event")
    second.get_by_label("Event name").fill("purchased")
    second.get_by_label("Times").fill("2")
    expect(page.locator("#segment-count")).to_have_text("0")  # pro AND bought twice: nobody
    page.get_by_label("all or any").select_option("or")
    expect(page.locator("#segment-count")).to_have_text("3")
    shoot(page, "segment-builder")
    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(page.locator(".seg-row")).to_have_count(2)  # the saved filter shows as the same rows
    expect(page.locator("#segment-count")).to_have_text("3")

    page.locator("summary", has_text="Edit as JSON").click()
    page.get_by_label("Filter (JSON)").fill('{"and": [{"not": {"property": "plan", "op": "eq", "value": "pro"}}]}')
    expect(page.locator("#segment-count")).to_have_text("3")  # cy, dee, eve
    page.get_by_label("Filter (JSON)").fill('{"property": "shoe", "op": "eq", "value": 1}')
    expect(page.get_by_role("status").filter(has_text="no contact property 'shoe'")).to_be_visible()

    page.goto(f"{server.base}/app/segments")
    expect(page.get_by_role("row").filter(has_text="Pro or buyers")).to_contain_text("3")
    shoot(page, "segments")

    page.goto(f"{server.base}/app/campaigns")
    page.get_by_label("Name", exact=True).fill("To the segment")
    page.get_by_label("List or segment").select_option(label="Pro or buyers")
    page.get_by_label("Subject").fill("For you")
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_text("3 people match")).to_be_visible()
    shoot(page, "campaign-to-segment")

    segment_path = (
        "segments/" + page.get_by_role("link", name="Pro or buyers").first.get_attribute("href").split("/")[-1]
    )
    assert serious_problems(browser, context, server.base, ["segments", segment_path, "segments/new"]) == {}
    context.close()

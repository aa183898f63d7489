"""Journeys in a real Chromium: a welcome series built step by step in the builder (a branch and
all), a test run of one contact shown as a timeline, enabled, a contact taken through it by the
event that starts it, and the figures and the contact's path on their pages; at 1280 and 375
pixels, each page axe-clean and the builder usable from the keyboard."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.dashboard.browsing import serious_problems, shoot, sign_in_with_link
from tests.dashboard.conftest import CHROMIUM, invite
from tests.e2e.server import new_project, wait_for

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")


def test_a_welcome_series_is_built_tried_enabled_and_followed_in_the_dashboard(dash_server, browser):
    server, expect = dash_server, playwright.expect
    project = f"journeys-{uuid.uuid4().hex[:6]}"
    tag = uuid.uuid4().hex[:6]
    keys = new_project(server.data_dir, project)
    with server.client(keys["live"]) as api:
        target = api.post("/lists", json={"name": "Customers"}).json()["id"]
        ann = api.post("/contacts", json={"email": f"ann-{tag}@example.com", "listId": target, "name": "Ann"}).json()
        for name in ("Welcome", "Tips"):
            api.post("/templates", json={"name": name, "subject": f"{name} {tag}", "html": f"<p>{name}</p>"})

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in_with_link(
        page, server.base, invite(server, f"j-{tag}@acme.test", project, role="owner"), f"j-{tag}@acme.test"
    )
    page.goto(f"{server.base}/app/campaigns")
    page.get_by_role("link", name="Journeys (automations)").click()
    expect(page.get_by_text("No journeys yet")).to_be_visible()
    page.get_by_role("link", name="New journey").click()

    page.get_by_label("Name", exact=True).fill("Welcome series")
    page.get_by_label("Event name").fill("signed_up")
    page.get_by_label("Event name").press("Tab")
    page.get_by_label("Goal: an event that ends the journey early (optional)").fill("upgraded")
    page.get_by_label("Goal: an event that ends the journey early (optional)").press("Tab")
    # The starter's one-hour wait goes; the series is built from the "Add" row, by keyboard.
    page.get_by_role("button", name="Remove Wait (s1)").click()
    adder = page.get_by_label("Kind of step to add to the journey")
    adder.select_option("send")
    adder.press("Tab")
    page.keyboard.press("Enter")
    first = page.locator(".j-step").nth(0)
    first.get_by_label("Template").select_option(label="Welcome")
    first.get_by_label("From").fill("Acme <hello@acme.test>")
    first.get_by_label("From").press("Tab")
    adder.select_option("wait_for_event")
    page.get_by_role("button", name="Add a step to the journey").click()
    waiting = page.locator(".j-step").nth(1)
    waiting.get_by_label("Event", exact=True).fill("activated")
    waiting.get_by_label("Event", exact=True).press("Tab")
    late = "Wait for an event (s2): If it does not happen in time"
    page.get_by_label(f"Kind of step to add to {late}").select_option("send")
    page.get_by_role("button", name=f"Add a step to {late}").click()
    nudge = page.locator(".j-branch .j-step").first
    nudge.get_by_label("Template").select_option(label="Tips")
    nudge.get_by_label("From").fill("Acme <hello@acme.test>")
    nudge.get_by_label("From").press("Tab")
    shoot(page, "journey-builder")
    page.get_by_role("button", name="Save journey").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    journey_path = page.url.split("/app/")[1].split("?")[0]

    # A test run: Ann does not activate, so the nudge goes after the day's wait.
    page.get_by_label("Contact's email").fill(f"ann-{tag}@example.com")
    page.get_by_role("button", name="Run the test").click()
    timeline = page.locator("#journey-test-result .timeline li")
    expect(timeline).to_have_count(3)
    expect(timeline.nth(0)).to_contain_text("at once")
    expect(timeline.nth(0)).to_contain_text("would send Welcome")
    expect(timeline.nth(1)).to_contain_text("timedOut")
    expect(timeline.nth(1)).to_contain_text("+24.0 h")
    expect(timeline.nth(2)).to_contain_text("would send Tips")
    page.get_by_label("Events they would do, one a line: name and after how many hours").fill("activated 3")
    page.get_by_role("button", name="Run the test").click()
    expect(timeline).to_have_count(2)
    expect(timeline.nth(1)).to_contain_text("received")
    page.locator("#journey-test-result").scroll_into_view_if_needed()
    shoot(page, "journey-test-run")

    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("status").filter(has_text="Enabled")).to_be_visible()
    with server.client(keys["live"]) as api:
        assert api.post("/events", json={"name": "signed_up", "email": f"ann-{tag}@example.com"}).status_code == 201
        journey_id = journey_path.split("/")[-1]
        assert wait_for(lambda: api.get(f"/journeys/{journey_id}/stats").json()["data"][0]["steps"][0]["sent"] == 1, 15)
    page.reload()
    expect(page.locator(".j-step").first.locator(".j-figures")).to_contain_text("1 passed · 1 sent")
    expect(page.locator(".j-step").nth(1).locator(":scope > .j-head .j-figures")).to_contain_text("1 here now")
    shoot(page, "journey-figures")

    page.goto(f"{server.base}/app/contacts/people/{ann['id']}")
    path = page.get_by_role("region", name="Journeys")
    expect(path).to_contain_text("Welcome series")
    expect(path).to_contain_text("waiting for activated")
    shoot(page, "contact-journey")

    page.goto(f"{server.base}/app/journeys")
    expect(page.get_by_role("row").filter(has_text="Welcome series")).to_contain_text("active")
    shoot(page, "journeys")

    phone = browser.new_context(viewport={"width": 375, "height": 812}, storage_state=context.storage_state())
    small = phone.new_page()
    small.goto(f"{server.base}/app/{journey_path}")
    wide = small.evaluate("document.documentElement.scrollWidth")
    assert wide <= 375, f"the builder is {wide} px wide on a 375 px phone"
    shoot(small, "journey-builder-phone")
    phone.close()

    assert serious_problems(browser, context, server.base, ["journeys", journey_path, "journeys/new"]) == {}
    context.close()

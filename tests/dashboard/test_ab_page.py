"""An A/B test in a real Chromium: set on a draft (variant B's subject and sender name), launched,
each variant's numbers shown as the test share lands, the winner picked by hand and sent to the
rest; the pages axe-clean."""

from __future__ import annotations

import email
import email.policy
import os
import uuid
from collections import Counter

import pytest

from tests.dashboard.browsing import serious_problems, shoot, sign_in_with_link
from tests.dashboard.conftest import CHROMIUM, invite
from tests.e2e.server import new_project

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")


def test_a_marketer_runs_an_ab_test_and_picks_the_winner(dash_server, browser):
    server, expect = dash_server, playwright.expect
    tag = uuid.uuid4().hex[:6]
    project = f"ab-{tag}"
    keys = new_project(server.data_dir, project)
    with server.client(keys["live"]) as api:
        target = api.post("/lists", json={"name": "Readers"}).json()["id"]
        rows = [{"email": f"r{n}-{tag}@example.com", "name": f"Reader {n}"} for n in range(10)]
        assert api.post("/contacts/import", json={"listId": target, "contacts": rows}).json()["importedCount"] == 10

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in_with_link(
        page, server.base, invite(server, f"ab-{tag}@acme.test", project, role="owner"), f"ab-{tag}@acme.test"
    )
    page.goto(f"{server.base}/app/campaigns")
    page.get_by_label("Name", exact=True).fill("Spring test")
    page.get_by_label("List or segment").select_option(label="Readers (10)")
    page.get_by_label("Subject").fill(f"Spring {tag}")
    page.get_by_role("button", name="Create draft").click()

    test = page.locator("#ab-test")
    test.get_by_label("Subject of variant B").fill("Spring {{ oops")
    test.get_by_role("button", name="Add A/B test").click()
    expect(page.get_by_role("alert")).to_contain_text("A/B test not saved: abTest.variants[1].subject")
    test = page.locator("#ab-test")
    test.get_by_label("Subject of variant B").fill(f"Spring is here {tag}")
    test.get_by_label("Sender name of variant B").fill("Bea at Acme")
    test.get_by_label("Test share (%)").fill("40")
    test.get_by_label("Wait", exact=True).fill("0")
    test.get_by_label("Then").select_option(label="Wait for me to pick")
    test.get_by_role("button", name="Add A/B test").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(page.get_by_label("Subject of variant B")).to_have_value(f"Spring is here {tag}")
    page.locator("#ab-test").scroll_into_view_if_needed()
    shoot(page, "campaign-ab-draft")
    campaign_path = page.url.split("/app/")[1].split("?")[0].split("#")[0]

    page.get_by_role("button", name="Launch campaign").click()
    results = page.get_by_role("table", name="Each variant's numbers in the test share (40% of the recipients)")
    expect(results.get_by_role("row").filter(has_text="Spring is here")).to_contain_text("2", timeout=30_000)
    expect(page.get_by_text("waiting for you to pick the winner")).to_be_visible()
    expect(page.locator("#campaign-done")).to_have_text("4")
    shoot(page, "campaign-ab-results")
    assert serious_problems(browser, context, server.base, [campaign_path]) == {}
    page.get_by_role("button", name="Pick B").click()
    expect(page.get_by_role("status").filter(has_text="Winner picked")).to_be_visible()
    expect(page.locator("#campaign-status")).to_have_text("completed", timeout=30_000)
    expect(page.get_by_text("variant B won")).to_be_visible()
    expect(page.locator("#campaign-done")).to_have_text("10")
    shoot(page, "campaign-ab-done")
    context.close()

    subjects = Counter()
    for path in (server.data_dir / "mail").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if str(message["To"]).endswith(f"-{tag}@example.com"):
            subjects[str(message["Subject"])] += 1
    assert subjects == {f"Spring {tag}": 2, f"Spring is here {tag}": 8}

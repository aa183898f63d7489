"""Topics in a real Chromium: declared on the Contacts page, chosen on a contact's page and as a
campaign's topic, and the public preference page a campaign links to, used as a recipient would
(keyboard and all), each page axe-clean."""

from __future__ import annotations

import os
import re
import uuid

import pytest

from tests.dashboard.browsing import serious_problems, shoot, sign_in_with_link
from tests.dashboard.conftest import CHROMIUM, invite
from tests.e2e.server import new_project, wait_for
from tests.e2e.test_campaigns import _campaign_messages

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")


def test_topics_are_managed_in_the_dashboard_and_chosen_on_the_preference_page(dash_server, browser):
    server, expect = dash_server, playwright.expect
    project = f"topics-{uuid.uuid4().hex[:6]}"
    tag = uuid.uuid4().hex[:6]
    keys = new_project(server.data_dir, project)
    with server.client(keys["live"]) as api:
        target = api.post("/lists", json={"name": "Customers"}).json()["id"]
        ann = api.post("/contacts", json={"email": f"ann-{tag}@example.com", "listId": target}).json()["id"]

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in_with_link(
        page, server.base, invite(server, f"t-{tag}@acme.test", project, role="owner"), f"t-{tag}@acme.test"
    )
    page.goto(f"{server.base}/app/contacts")
    expect(page.get_by_text("No topics yet")).to_be_visible()
    topics = page.locator("#topics")
    for name, description, who in [
        ("Product news", "What we shipped this month", "Everyone, until they leave"),
        ("Weekly digest", "The best of the week, on Fridays", "Only who joins"),
    ]:
        topics.get_by_label("Name").fill(name)
        topics.get_by_label("Description").fill(description)
        topics.get_by_label("Who gets it").select_option(label=who)
        topics.get_by_role("button", name="Add topic").click()
        expect(page.get_by_role("row").filter(has_text=name)).to_contain_text(who)
    topics.get_by_label("Name").fill("Product news")
    topics.get_by_role("button", name="Add topic").click()
    expect(page.get_by_role("alert")).to_contain_text("already has a topic named 'Product news'")
    page.locator("#topics").scroll_into_view_if_needed()
    shoot(page, "contacts-topics")

    page.goto(f"{server.base}/app/contacts/people/{ann}")
    expect(page.get_by_label("Product news")).to_be_checked()
    expect(page.get_by_label("Weekly digest")).not_to_be_checked()
    page.get_by_label("Weekly digest").check()
    page.get_by_role("button", name="Save topics").click()
    expect(page.get_by_role("status").filter(has_text="Topics saved.")).to_be_visible()
    expect(page.get_by_label("Weekly digest")).to_be_checked()
    shoot(page, "contact-topics")

    page.goto(f"{server.base}/app/segments/new")
    page.get_by_label("Name", exact=True).fill("Digest readers")
    row = page.locator(".seg-row").first
    row.get_by_label("Condition", exact=True).select_option("topic")
    row.get_by_label("Topic").select_option(label="Weekly digest")
    expect(page.locator("#segment-count")).to_have_text("1")
    page.get_by_label("If or unless").select_option("not")
    expect(page.locator("#segment-count")).to_have_text("0")

    page.goto(f"{server.base}/app/campaigns")
    page.get_by_label("Name", exact=True).fill("News for May")
    page.get_by_label("List or segment").select_option(label="Customers (1)")
    page.get_by_label("Topic").select_option(label="Product news")
    page.get_by_label("Subject").fill(f"News {tag}")
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_text("only those in the topic")).to_be_visible()
    expect(page.get_by_label("Topic")).to_have_value(re.compile("^top_"))
    campaign_path = page.url.split("/app/")[1].split("?")[0]

    with server.client(keys["live"]) as api:
        campaign = campaign_path.split("/")[-1]
        assert api.post(f"/campaigns/{campaign}/launch").status_code == 200
        assert wait_for(lambda: api.get(f"/campaigns/{campaign}").json()["data"]["status"] == "completed", 20)
    (message,) = _campaign_messages(server, f"News {tag}").values()
    html = message.get_body(("html",)).get_content()
    link = re.search(r'href="([^"]*/preferences\?token=[^"]+)"', html)[1].replace("&amp;", "&")

    reader = browser.new_context(viewport={"width": 420, "height": 860})  # a phone, no session
    mailbox = reader.new_page()
    mailbox.goto(link)
    expect(mailbox.get_by_role("heading", name="Email preferences")).to_be_visible()
    expect(mailbox.get_by_text("a***@example.com")).to_be_visible()
    expect(mailbox.get_by_label("Product news")).to_be_checked()
    expect(mailbox.get_by_label("Weekly digest")).to_be_checked()
    shoot(mailbox, "preferences")
    mailbox.get_by_label("Product news").focus()
    mailbox.keyboard.press("Space")  # untick by keyboard
    mailbox.get_by_role("button", name="Save preferences").focus()
    mailbox.keyboard.press("Enter")
    expect(mailbox.get_by_role("status")).to_have_text("Your preferences are saved.")
    expect(mailbox.get_by_label("Product news")).not_to_be_checked()
    shoot(mailbox, "preferences-saved")
    with server.client(keys["live"]) as api:
        stood = {t["name"]: t["subscription"] for t in api.get(f"/contacts/{ann}/topics").json()["data"]}
    assert stood == {"Product news": "opt_out", "Weekly digest": "opt_in"}

    preference_path = link.removeprefix(server.base)
    assert serious_problems(browser, reader, server.base, [preference_path]) == {}
    assert serious_problems(browser, context, server.base, ["contacts", f"contacts/people/{ann}", campaign_path]) == {}
    mailbox.get_by_role("button", name="Unsubscribe from everything").click()
    expect(mailbox.get_by_role("status")).to_contain_text("unsubscribed from everything")
    shoot(mailbox, "preferences-left")
    reader.close()
    context.close()

"""Contact properties in a real Chromium: declared on the contacts page, filled by a CSV column of
the same name, edited on a contact's page by type, exported, and read by a campaign's preview."""

from __future__ import annotations

import csv
import io
import os

import pytest

from tests.dashboard.browsing import serious_problems, shoot, sign_in_with_link
from tests.dashboard.conftest import CHROMIUM, invite

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")


def test_a_marketer_declares_imports_and_edits_contact_properties(dash_server, browser, tmp_path):
    server, expect = dash_server, playwright.expect
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in_with_link(page, server.base, invite(server, "props@acme.test", role="owner"), "props@acme.test")

    page.goto(f"{server.base}/app/contacts")
    expect(page.get_by_text("No properties yet")).to_be_visible()
    for key, kind, default in [("plan", "text", "free"), ("seats", "number", ""), ("vip", "boolean", "false")]:
        page.get_by_label("Key", exact=True).fill(key)
        page.get_by_label("Type", exact=True).select_option(kind)
        page.get_by_label("Default", exact=True).fill(default)
        page.get_by_role("button", name="Add property").click()
        expect(page.get_by_role("table", name="Contact properties of this project")).to_contain_text(key)
    page.get_by_label("Key", exact=True).fill("seats")
    page.get_by_role("button", name="Add property").click()
    expect(page.get_by_role("alert")).to_have_text("the project already has a property 'seats'")
    page.get_by_label("Key", exact=True).fill("renews_on")
    page.get_by_label("Type", exact=True).select_option("number")
    page.get_by_label("Default", exact=True).fill("soon")
    page.get_by_role("button", name="Add property").click()
    expect(page.get_by_role("alert")).to_have_text("default must be a number")
    shoot(page, "contact-properties")

    page.get_by_label("List name").fill("Customers")
    page.get_by_role("button", name="Create list").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    people = tmp_path / "customers.csv"
    people.write_text("email,name,Seats,VIP,Plan\nann@example.com,Ann,12,yes,pro\nbob@example.com,Bob,,no,\n")
    page.get_by_label("CSV file").set_input_files(str(people))
    page.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_role("heading", name="Match the columns")).to_be_visible()  # the extra columns
    expect(page.get_by_label("Property seats")).to_have_value("2")  # guessed from "Seats"
    expect(page.get_by_label("Property vip")).to_have_value("3")
    expect(page.get_by_label("Property plan")).to_have_value("4")
    shoot(page, "import-mapping-properties")
    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.get_by_role("heading", name="Imported")).to_be_visible(timeout=30_000)
    expect(page.locator("#imported")).to_have_text("2")

    page.get_by_role("link", name="See the contacts of Customers").click()
    page.get_by_role("link", name="bob@example.com").click()
    expect(page.get_by_label("plan")).to_have_attribute("placeholder", "free")  # the default shows
    expect(page.get_by_label("seats")).to_have_attribute("type", "number")
    page.get_by_label("seats").fill("3")
    page.get_by_label("vip").select_option("true")
    shoot(page, "contact-with-properties")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Export this list (CSV)").click()
    exported = list(csv.reader(io.StringIO(open(waiting.value.path()).read())))
    assert exported[0] == ["email", "name", "company", "status", "created_at", "plan", "seats", "vip"]
    rows = {row[0]: row[5:] for row in exported[1:]}
    assert rows == {"ann@example.com": ["pro", "12", "true"], "bob@example.com": ["free", "3", "true"]}

    list_path = page.url.split(server.base + "/app/")[1].split("?")[0]
    contact_path = (
        "contacts/people/" + page.get_by_role("link", name="ann@example.com").get_attribute("href").split("/")[-1]
    )
    assert serious_problems(browser, context, server.base, ["contacts", list_path, contact_path]) == {}
    context.close()

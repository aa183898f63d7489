"""Contacts and imports in a real Chromium: a list, a 5,000-row CSV with one bad row imported
through the page (columns matched by hand, the progress bar followed, the bad line named and
downloadable), a 25,000-row file done by the background job, search, edit, unsubscribe, delete,
export."""

from __future__ import annotations

import csv
import io
import os

import pytest

from tests.dashboard.browsing import serious_problems, shoot, sign_in_with_link
from tests.dashboard.conftest import CHROMIUM, invite

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")
# Every value the progress bar takes, recorded by the page itself (htmx swaps the element).
WATCH_BAR = """
window.barValues = [];
const record = () => {
  const bar = document.getElementById('import-bar');
  if (bar) window.barValues.push(Number(bar.value));
};
record();
new MutationObserver(record).observe(document.documentElement, {subtree: true, childList: true, attributes: true});
"""


def people_csv(path, count: int, *, bad_line: int | None = None, header=("E-mail", "Full name", "Org")) -> None:
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for n in range(count):
            line = n + 2
            email = "no-at-sign.example.com" if line == bad_line else f"reader{n}@example.com"
            writer.writerow([email, f"Reader {n}", '=HYPERLINK("http://evil")' if n == 3 else "Acme"])


def test_a_marketer_imports_follows_and_manages_contacts(dash_server, browser, tmp_path):
    server, expect = dash_server, playwright.expect
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in_with_link(page, server.base, invite(server, "lists@acme.test", role="owner"), "lists@acme.test")

    page.goto(f"{server.base}/app/contacts")
    page.get_by_label("List name").fill("Readers")
    page.get_by_role("button", name="Create list").click()
    expect(page.get_by_role("heading", name="Readers")).to_be_visible()
    expect(page.get_by_text("No contacts yet")).to_be_visible()

    # 5,000 rows, one bad, headers that differ from the fields: match them, then follow the job.
    small = tmp_path / "readers.csv"
    people_csv(small, 5000, bad_line=1234)
    page.get_by_label("CSV file").set_input_files(str(small))
    page.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_role("heading", name="Match the columns")).to_be_visible()
    expect(page.get_by_label("Email (required)")).to_have_value("0")  # guessed from "E-mail"
    first_rows = page.get_by_role("table", name="The first rows of readers.csv")
    expect(first_rows).to_contain_text("reader0@example.com")
    expect(first_rows).to_contain_text("Full name")
    page.get_by_label("Name").select_option(label="Full name")
    page.get_by_label("Company").select_option(label="Org")
    shoot(page, "import-mapping")
    page.get_by_role("button", name="Import 5,000 rows").click()
    page.locator("#import-progress").wait_for()  # the job's page has loaded (the form posted)
    page.evaluate(WATCH_BAR)
    expect(page.get_by_role("heading", name="Imported")).to_be_visible(timeout=30_000)
    expect(page.locator("#imported")).to_have_text("4,999")
    expect(page.locator("#invalid")).to_have_text("1")
    expect(page.locator("#import-bar")).to_have_attribute("value", "5000")
    shoot(page, "import-done")
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download the invalid rows (CSV, with line and reason)").click()
    report = list(csv.reader(io.StringIO(open(waiting.value.path()).read())))
    assert report[0] == ["line", "reason", "email"]
    assert report[1][0] == "1234" and report[1][2] == "no-at-sign.example.com" and "email" in report[1][1]

    # 25,000 rows with the fields' own names: no questions, a background job, the bar moving.
    large = tmp_path / "more.csv"
    people_csv(large, 25_000, header=("email", "name", "company"))
    page.get_by_role("link", name="See the contacts of Readers").click()
    page.get_by_label("CSV file").set_input_files(str(large))
    page.get_by_role("button", name="Upload and import").click()
    page.locator("#import-progress").wait_for()
    page.evaluate(WATCH_BAR)
    expect(page.get_by_role("heading", name="Imported")).to_be_visible(timeout=60_000)
    expect(page.locator("#imported")).to_have_text("20,001")  # the first 4,999 were there already
    expect(page.locator("#skipped")).to_have_text("4,999")
    seen = page.evaluate("window.barValues")
    # The page followed the job to its end. On this machine 25,000 rows take about half a second, about
    # as long as the page takes to load after the upload, so the bar may already be full when it does.
    assert seen and seen[-1] == 25_000 and sorted(seen) == seen, seen

    # The list: counts, search, pages, edit, unsubscribe, delete.
    page.get_by_role("link", name="See the contacts of Readers").click()
    expect(page.get_by_text("25,000 contacts")).to_be_visible()
    expect(page.get_by_text("Page 1 of 500")).to_be_visible()
    shoot(page, "contacts")
    page.get_by_label("Search").fill("reader24999@")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("1 match", exact=True)).to_be_visible()
    page.get_by_role("link", name="reader24999@example.com").click()
    page.get_by_label("Name").fill("Ada Reader")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    page.get_by_label("Search").fill("Ada Reader")
    page.get_by_role("button", name="Filter").click()
    row = page.get_by_role("row").filter(has_text="reader24999@example.com")
    row.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("row").filter(has_text="reader24999@example.com").locator(".pill")).to_have_text(
        "unsubscribed"
    )
    page.get_by_label("Status").select_option("unsubscribed")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("1 match", exact=True)).to_be_visible()
    page.get_by_role("row").filter(has_text="reader24999@example.com").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status").filter(has_text="Contact deleted.")).to_be_visible()

    # Export: every contact, formulas defused.
    page.goto(page.url.split("?")[0])
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Export this list (CSV)").click()
    exported = list(csv.reader(io.StringIO(open(waiting.value.path()).read())))
    assert exported[0] == ["email", "name", "company", "status", "created_at"] and len(exported) == 1 + 24_999
    evil = next(r for r in exported if r[0] == "reader3@example.com")
    assert evil[2].startswith("'=HYPERLINK")

    list_path = page.url.split(server.base + "/app/")[1].split("?")[0]
    assert serious_problems(browser, context, server.base, ["contacts", list_path]) == {}
    context.close()

"""Inbound routes and DMARC reports in a real Chromium: routes made on the page (the form shows the
fields of the action chosen) and obeyed by the listener (a reject route's own SMTP reply), and a
DMARC aggregate report mailed to the rua address shown on the sending domain's DMARC page with the
record to publish; at 1280 and 375 pixels, axe-clean."""

from __future__ import annotations

import email.policy
import os
import smtplib
import uuid
from email.message import EmailMessage

import pytest

from tests.dashboard.browsing import serious_problems, shoot, sign_in_with_link
from tests.dashboard.conftest import CHROMIUM, invite
from tests.e2e.server import Server, free_port, new_project, wait_for
from tests.unit.test_dmarc_reports import report_xml, zipped

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")


def _report(domain: str) -> bytes:
    message = EmailMessage()
    message["From"] = "noreply-dmarc-support@google.com"
    message["To"] = "dmarc-reports@bounces.test"
    message["Subject"] = f"Report domain: {domain} Submitter: google.com Report-ID: r-42"
    message.set_content("This is an aggregate report from google.com.")
    rows = [
        ("192.0.2.10", 1200, "pass", "pass"),
        ("198.51.100.7", 35, "fail", "fail"),
        ("203.0.113.5", 80, "pass", "fail"),
    ]
    name = f"google.com!{domain}!1764547200!1764633599"
    message.add_attachment(
        zipped(f"{name}.xml", report_xml(domain, "r-42", rows)),
        maintype="application",
        subtype="zip",
        filename=f"{name}.zip",
    )
    return message.as_bytes(policy=email.policy.SMTP)  # CRLF line ends, as SMTP wants


def test_routes_are_made_on_a_page_and_dmarc_reports_are_shown_on_the_domains(tmp_path, browser):
    expect = playwright.expect
    inbound = free_port()
    env = {"AUTORELAY_INBOUND_LISTEN": f"127.0.0.1:{inbound}", "AUTORELAY_BOUNCE_DOMAIN": "bounces.test"}
    server = Server(tmp_path / "data", env).start()
    try:
        tag = uuid.uuid4().hex[:6]
        project = f"routes-{tag}"
        new_project(server.data_dir, project)
        domain = f"in-{tag}.acme.test"
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        email = f"r-{tag}@acme.test"
        sign_in_with_link(page, server.base, invite(server, email, project, role="owner"), email)
        page.goto(f"{server.base}/app/inbound/routes")
        expect(page.get_by_role("heading", name="No receiving domains yet")).to_be_visible()
        page.get_by_role("link", name="Received").click()
        page.get_by_label("Domain to receive for").fill(domain)
        page.get_by_role("button", name="Receive for it").click()
        page.get_by_role("link", name="Routes").click()

        form = page.locator("form[data-route-form]")
        expect(form.get_by_label("Forward to")).to_be_hidden()  # webhook is chosen: its fields only
        form.get_by_label("Mail for").select_option("exact")
        form.get_by_label("Address, expression or domain").fill(f"old@{domain}")
        form.get_by_label("Then").select_option("reject")
        expect(form.get_by_label("Webhook")).to_be_hidden()
        form.get_by_label("Reply text").fill("This address has closed; write to help@ instead")
        form.get_by_role("button", name="Add route").click()
        expect(page.get_by_text("550 5.1.1 This address has closed")).to_be_visible()

        form.get_by_label("Mail for").select_option("plus")
        form.get_by_label("Address, expression or domain").fill(f"help@{domain}")
        form.get_by_label("Then").select_option("forward")
        form.get_by_label("Forward to").fill("me@home.test")
        form.get_by_label("From (a verified domain)").fill("desk@unverified.test")
        form.get_by_role("button", name="Add route").click()
        expect(page.get_by_role("alert")).to_contain_text("unverified.test is not a verified domain")
        expect(form.get_by_label("Forward to")).to_have_value("me@home.test")  # what was typed stays
        form.get_by_label("From (a verified domain)").fill("desk@acme.test")
        form.get_by_role("button", name="Add route").click()
        expect(page.get_by_text("Forward to me@home.test")).to_be_visible()
        shoot(page, "inbound-routes")

        with smtplib.SMTP("127.0.0.1", inbound, timeout=30) as client:
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                client.sendmail("zoe@customer.test", [f"old@{domain}"], b"Subject: hi\r\n\r\nhi\r\n")
            code, text = refused.value.recipients[f"old@{domain}"]
            assert (code, text.decode()) == (550, "5.1.1 This address has closed; write to help@ instead")
            client.sendmail("noreply-dmarc-support@google.com", ["dmarc-reports@bounces.test"], _report("acme.test"))
            help_mail = f"From: zoe@customer.test\r\nTo: help+billing@{domain}\r\nSubject: Refund?\r\n\r\nHi.\r\n"
            client.sendmail("zoe@customer.test", [f"help+billing@{domain}"], help_mail.encode())

        # The forwarded message's page says where it went, and links the email that took it there.
        page.goto(f"{server.base}/app/inbound")
        assert wait_for(lambda: page.reload() or page.get_by_role("link", name="Refund?").count(), 20)
        page.get_by_role("link", name="Refund?").click()
        forwarded = page.locator("dd").filter(has_text="to me@home.test")
        expect(forwarded).to_be_visible()
        forwarded.get_by_role("link").click()
        expect(page.get_by_text("me@home.test").first).to_be_visible()

        page.goto(f"{server.base}/app/domains")
        page.get_by_role("link", name="DMARC reports of acme.test").click()
        expect(page.get_by_role("heading", name="DMARC reports of acme.test")).to_be_visible()
        expect(page.locator("#dmarc-value")).to_have_text("v=DMARC1; p=none; rua=mailto:dmarc-reports@bounces.test")
        expect(page.locator("#auth-name")).to_have_text("acme.test._report._dmarc.bounces.test")
        assert wait_for(lambda: page.reload() or page.get_by_text("198.51.100.7").count(), 20)
        row = page.get_by_role("row").filter(has_text="198.51.100.7")
        expect(row).to_contain_text("not authorised")
        expect(page.get_by_role("row").filter(has_text="192.0.2.10")).to_contain_text("1,200")
        expect(page.get_by_role("row").filter(has_text="203.0.113.5")).to_contain_text("authorised")
        shoot(page, "dmarc-reports")
        dmarc_path = page.url.removeprefix(server.base)

        narrow = browser.new_context(viewport={"width": 375, "height": 800}, storage_state=context.storage_state())
        small = narrow.new_page()
        for path, name in (("/app/inbound/routes", "inbound-routes-375"), (dmarc_path, "dmarc-reports-375")):
            small.goto(f"{server.base}{path}")
            width = small.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"{path} scrolls sideways at 375 px ({width} px)"
            shoot(small, name)
        narrow.close()

        problems = serious_problems(browser, context, server.base, ["/app/inbound/routes", dmarc_path])
        assert problems == {}, problems
        context.close()
    finally:
        server.stop()

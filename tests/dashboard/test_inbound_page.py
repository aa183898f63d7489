"""Received mail in a real Chromium: a receiving domain added on the page (its MX record shown), a
message with an HTML part and an attachment sent to the listener, listed beside the email log and
opened: envelope, authentication results, the attachment's link, the text and the HTML in a
sandboxed frame that loads nothing remote; at 1280 and 375 pixels, axe-clean."""

from __future__ import annotations

import email.policy
import os
import smtplib
import uuid
from email.message import EmailMessage

import pytest

from tests.dashboard.browsing import SHOTS, serious_problems, shoot, sign_in_with_link
from tests.dashboard.conftest import CHROMIUM, invite
from tests.e2e.server import Server, free_port, new_project, wait_for

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")


def _message(domain: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Zoë Customer <zoe@customer.test>"
    message["To"] = f"support@{domain}"
    message["Subject"] = "Where is my order?"
    message.set_content("Hello, my order has not arrived.\n\nOn Monday, Acme wrote:\n> It shipped.\n")
    message.add_alternative(
        '<p>Hello, my order <b>has not arrived</b>.</p><img src="https://tracker.test/pixel.gif" alt="">',
        subtype="html",
    )
    message.add_attachment(b"order 1234", maintype="text", subtype="plain", filename="order.txt")
    return message.as_bytes(policy=email.policy.SMTP)  # CRLF line ends, as SMTP wants


def test_received_mail_is_listed_beside_the_email_log_and_opened(tmp_path, browser):
    expect = playwright.expect
    inbound = free_port()
    server = Server(tmp_path / "data", {"AUTORELAY_INBOUND_LISTEN": f"127.0.0.1:{inbound}"}).start()
    try:
        tag = uuid.uuid4().hex[:6]
        project = f"inbound-{tag}"
        new_project(server.data_dir, project)
        domain = f"in-{tag}.acme.test"
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        # The remote pixel in the sender's HTML: blocked by the frame's policy before any lookup.
        pixel: list[str] = []
        page.on("requestfailed", lambda r: "tracker.test" in r.url and pixel.append(r.failure or ""))
        page.on("requestfinished", lambda r: "tracker.test" in r.url and pixel.append("fetched"))
        email = f"i-{tag}@acme.test"
        sign_in_with_link(page, server.base, invite(server, email, project, role="owner"), email)
        page.goto(f"{server.base}/app/emails")
        page.get_by_role("link", name="Received").click()
        expect(page.get_by_role("heading", name="No mail received yet")).to_be_visible()
        page.get_by_label("Domain to receive for").fill(domain)
        page.get_by_role("button", name="Receive for it").click()
        expect(page.get_by_text(f"{domain} MX 10")).to_be_visible()

        with smtplib.SMTP("127.0.0.1", inbound, timeout=30) as client:
            client.sendmail("zoe@customer.test", [f"support@{domain}"], _message(domain))
        assert wait_for(lambda: page.reload() or page.get_by_role("link", name="Where is my order?").count(), 30)
        shoot(page, "inbound-log")
        page.get_by_role("link", name="Where is my order?").click()
        expect(page.get_by_role("heading", name="Where is my order?")).to_be_visible()
        expect(page.get_by_text("Hello, my order has not arrived.", exact=True)).to_be_visible()  # the reply text
        expect(page.get_by_role("link", name="order.txt")).to_be_visible()
        frame = page.frame_locator("iframe.preview")
        expect(frame.get_by_text("has not arrived")).to_be_visible()
        shoot(page, "inbound-message")
        # A full-page shot leaves a sandboxed frame blank in headless Chromium; the frame alone shows it.
        page.locator("iframe.preview").screenshot(path=str(SHOTS / "inbound-message-html.png"))
        assert pixel and all(outcome == "csp" for outcome in pixel), pixel  # "csp": blocked by the policy
        message_path = page.url.removeprefix(server.base)

        narrow = browser.new_context(viewport={"width": 375, "height": 800}, storage_state=context.storage_state())
        small = narrow.new_page()
        small.goto(f"{server.base}{message_path}")
        width = small.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the message page scrolls sideways at 375 px ({width} px)"
        shoot(small, "inbound-message-375")
        narrow.close()

        problems = serious_problems(browser, context, server.base, ["/app/inbound", message_path])
        assert problems == {}, problems
        # Deleted from its page (after a confirmation), it is gone from the list.
        page.goto(f"{server.base}{message_path}")
        page.get_by_role("button", name="Delete").click()
        expect(page.get_by_role("heading", name="Received mail")).to_be_visible()
        expect(page.get_by_role("link", name="Where is my order?")).to_have_count(0)
        context.close()
    finally:
        server.stop()

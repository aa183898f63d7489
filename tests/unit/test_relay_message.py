"""The SMTP relay's send, over the memory adapters: the API's rules for MIME that arrives over SMTP,
the envelope deciding delivery, the client's Message-ID as the idempotency key, and the message
bytes that leave (the client's MIME and Message-ID, the Received trace, no Bcc)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import attrs
import pytest

from adapters.mailers.mime import build_message, envelope_recipients
from autorelay_core.domain.keys import KeyMode
from autorelay_core.errors import Forbidden, Invalid, RateLimited, Unprocessable
from autorelay_core.usecases.relay_message import relay_message
from tests.unit.test_send_email import live_key


def mime(*, sender="Shop <orders@acme.test>", message_id="<client-1@app.example>", bcc=True) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "Ann <ann@example.com>"
    message["Cc"] = "cy@example.com"
    if bcc:
        message["Bcc"] = "secret@example.com"
    message["Subject"] = "Your order =?utf-8?q?=C3=A9t=C3=A9?="
    if message_id:
        message["Message-ID"] = message_id
    message["X-Order"] = "1042"
    message.set_content("Plain words")
    message.add_alternative("<p>Rich <b>words</b></p>", subtype="html")
    message.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="invoice.pdf")
    return message.as_bytes(policy=email.policy.SMTP)


RECIPIENTS = ["ann@example.com", "cy@example.com", "secret@example.com"]


async def test_a_relayed_message_leaves_as_written_with_its_message_id_a_trace_and_no_bcc(deps):
    key = await live_key(deps)
    trace = "from app.example ([192.0.2.7]) by relay.test (AutoRelay) with ESMTPSA; Sun, 6 Dec 2026 07:00:00 +0000"
    relayed = await relay_message(deps, key, RECIPIENTS, mime(), trace=trace)
    assert not relayed.replayed and relayed.message_id == "<client-1@app.example>"
    stored = await deps.storage.emails.get(key.project_id, relayed.email_id)
    assert stored.subject == "Your order été" and stored.sender == "Shop <orders@acme.test>"
    assert stored.message_id == "<client-1@app.example>", "kept: help desks thread replies by it"
    assert (stored.to, stored.cc, stored.bcc) == (("ann@example.com",), ("cy@example.com",), ("secret@example.com",))
    assert envelope_recipients(stored) == RECIPIENTS

    raw = build_message(stored, deps.clock.now())
    sent = email.message_from_bytes(raw, policy=email.policy.default)
    assert raw.startswith(b"Received: " + trace.encode() + b"\r\n"), "the trace goes on top"
    assert sent.get_all("Message-ID") == ["<client-1@app.example>"]
    assert sent["Bcc"] is None and b"secret@example.com" not in raw
    assert sent["X-Order"] == "1042" and sent["Date"] is not None
    (attachment,) = list(sent.iter_attachments())
    assert attachment.get_filename() == "invoice.pdf" and attachment.get_content() == b"%PDF-1.4 fake"
    assert "Rich <b>words</b>" in sent.get_body(("html",)).get_content()


@pytest.mark.parametrize("given", [None, "<no-at-sign>", "<two@@at.example>", "<spa ce@x.example>", "bare@x.example"])
async def test_a_missing_or_malformed_message_id_is_replaced(deps, given):
    key = await live_key(deps)
    relayed = await relay_message(deps, key, RECIPIENTS, mime(message_id=given))
    stored = await deps.storage.emails.get(key.project_id, relayed.email_id)
    assert relayed.message_id == stored.message_id != given and stored.message_id.endswith("@acme.test>")
    sent = email.message_from_bytes(build_message(stored, deps.clock.now()), policy=email.policy.default)
    assert sent.get_all("Message-ID") == [stored.message_id]


async def test_the_operator_may_have_every_message_id_replaced(deps):
    from attrs import evolve

    replacing = evolve(deps, config=evolve(deps.config, relay_keeps_message_id=False))
    key = await live_key(replacing)
    relayed = await relay_message(replacing, key, RECIPIENTS, mime())
    stored = await replacing.storage.emails.get(key.project_id, relayed.email_id)
    assert "client-1" not in stored.message_id
    sent = email.message_from_bytes(build_message(stored, replacing.clock.now()), policy=email.policy.default)
    assert sent.get_all("Message-ID") == [stored.message_id]


async def test_the_clients_message_id_makes_a_retry_send_nothing_more(deps):
    key = await live_key(deps)
    message = mime()  # a retry sends the same bytes (the same MIME boundaries too)
    first = (await relay_message(deps, key, RECIPIENTS, message)).email_id
    again = await relay_message(deps, key, RECIPIENTS, message)
    assert (again.email_id, again.message_id, again.replayed) == (first, "<client-1@app.example>", True)
    with pytest.raises(Unprocessable):
        await relay_message(deps, key, RECIPIENTS, message.replace(b"Plain words", b"Other words"))
    with pytest.raises(Unprocessable):
        await relay_message(deps, key, ["ann@example.com"], message)
    other = (await relay_message(deps, key, RECIPIENTS, mime(message_id="<client-2@app.example>"))).email_id
    no_id = (await relay_message(deps, key, RECIPIENTS, mime(message_id=None))).email_id
    assert len({first, other, no_id}) == 3


async def test_the_apis_rules_hold_over_smtp(deps):
    key = await live_key(deps)
    with pytest.raises(Invalid, match="not a verified domain") as refused:
        await relay_message(deps, key, RECIPIENTS, mime(sender="x@unverified.example"))
    assert refused.value.field == "from"
    with pytest.raises(Invalid, match="exactly one From"):
        await relay_message(deps, key, RECIPIENTS, mime(sender="a@acme.test, b@acme.test"))
    with pytest.raises(Invalid, match="recipient"):
        await relay_message(deps, key, ["not an address"], mime())
    key = attrs.evolve(key, scopes=("emails.read",))
    with pytest.raises(Forbidden, match=r"emails\.send"):
        await relay_message(deps, key, RECIPIENTS, mime())
    test_key = await live_key(deps, "sandbox", mode=KeyMode.TEST)
    relayed = await relay_message(deps, test_key, RECIPIENTS, mime(sender="any@where.example"))
    assert (await deps.storage.emails.get(test_key.project_id, relayed.email_id)).test


async def test_the_send_limit_of_the_api_applies_per_key(deps):
    key = await live_key(deps)
    for n in range(100):
        await relay_message(deps, key, ["ann@example.com"], mime(message_id=f"<m{n}@app.example>"))
    with pytest.raises(RateLimited):
        await relay_message(deps, key, ["ann@example.com"], mime(message_id="<m100@app.example>"))


async def test_the_dashboard_shows_a_relayed_messages_own_html_and_text(deps):
    from adapters.dashboard.views.emails import relayed_parts

    key = await live_key(deps)
    relayed = await relay_message(deps, key, RECIPIENTS, mime())
    stored = await deps.storage.emails.get(key.project_id, relayed.email_id)
    html, text = relayed_parts(stored)
    assert "Rich <b>words</b>" in html and text.strip() == "Plain words"

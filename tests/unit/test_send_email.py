"""Sending: validation, rendering and the hand-off to the outbox, over the memory adapters."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.emails import EmailStatus, EventType
from autorelay_core.domain.keys import KeyMode
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.usecases.manage_domains import mark_verified
from autorelay_core.usecases.manage_keys import create_key, create_project
from autorelay_core.usecases.manage_templates import TemplateInput, create_template
from autorelay_core.usecases.read_emails import get_email
from autorelay_core.usecases.send_email import AttachmentInput, SendCommand, send_email


async def live_key(deps, name="acme", mode=KeyMode.LIVE):
    project = await create_project(deps, name)
    await mark_verified(deps, Caller.system(project.id), "acme.test")
    return Caller.for_key((await create_key(deps, Caller.system(project.id), mode)).key)


def command(**overrides) -> SendCommand:
    fields = {"to": "alice@example.com", "from_": "Acme <noreply@acme.test>", "subject": "Hi", "html": "<p>Hello</p>"}
    fields.update(overrides)
    return SendCommand(**fields)


async def test_send_stores_queued_email_and_delivers_it(deps, mailer):
    key = await live_key(deps)
    email = await send_email(deps, key, command())
    assert email.id.startswith("em_") and email.message_id.endswith("@acme.test>")
    await deps.queue.drain()
    stored, events = await get_email(deps, key, email.id)
    assert stored.status is EmailStatus.SENT
    assert [e.type for e in events] == [EventType.QUEUED, EventType.SENT]
    assert [m.id for m in mailer.sent] == [email.id]
    assert mailer.sent[0].text.strip() == "Hello"  # generated from the HTML


async def test_to_accepts_a_list_up_to_fifty(deps):
    key = await live_key(deps)
    email = await send_email(deps, key, command(to=[f"u{i}@example.com" for i in range(50)]))
    assert len(email.to) == 50 and email.to_was_list
    with pytest.raises(Invalid, match="at most 50"):
        await send_email(deps, key, command(to=[f"u{i}@example.com" for i in range(51)]))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"to": "not-an-address"}, "to is not a valid email address"),
        ({"from_": "Acme <nope>"}, "from is not a valid sender"),
        ({"html": None}, "html or text is required"),
        ({"subject": "  "}, "subject must not be empty"),
        ({"subject": None}, "subject is required"),
        ({"subject": "a\r\nBcc: x@y.z"}, "a line break"),
        ({"headers": {"Message-ID": "<x@y>"}}, "cannot be overridden"),
        ({"headers": {"X-Ok": "a\nb"}}, "a line break"),
        ({"data": {"nested": {"a": 1}}}, "data.nested must be a string"),
        ({"cc": ["ok@example.com", "bad"]}, "cc is not a valid"),
        ({"attachments": [AttachmentInput(filename="a.txt", content="***")]}, "not valid base64"),
    ],
)
async def test_bad_input_is_refused_with_the_field_named(deps, overrides, message):
    key = await live_key(deps)
    with pytest.raises(Invalid, match=message):
        await send_email(deps, key, command(**overrides))
    assert (await deps.storage.emails.page(key.project_id, _first_page())).total == 0


def _first_page():
    from autorelay_core.policies.pagination import CursorRequest

    return CursorRequest(limit=10)


async def test_template_wins_over_html_and_escapes_data(deps, mailer):
    key = await live_key(deps)
    template = await create_template(
        deps, key, TemplateInput(name="welcome", subject="Welcome {{ name }}", html="<p>Hi {{ name }}</p>")
    )
    email = await send_email(
        deps, key, command(template_id=template.id, html="<p>ignored</p>", subject=None, data={"name": "<b>Bob</b>"})
    )
    assert email.html == "<p>Hi &lt;b&gt;Bob&lt;/b&gt;</p>"
    assert email.subject == "Welcome <b>Bob</b>"  # subjects are not HTML


async def test_missing_template_variable_is_named(deps):
    key = await live_key(deps)
    template = await create_template(deps, key, TemplateInput(name="t", subject="S", html="{{ first }} {{ last }}"))
    with pytest.raises(Invalid, match=r"missing template variable.*last"):
        await send_email(deps, key, command(template_id=template.id, data={"first": "A"}))


async def test_template_of_another_project_is_not_found(deps):
    key_a = await live_key(deps, "a")
    key_b = await live_key(deps, "b")
    template = await create_template(deps, key_a, TemplateInput(name="t", subject="S", html="x"))
    with pytest.raises(NotFound):
        await send_email(deps, key_b, command(template_id=template.id))


async def test_attachments_are_decoded_and_capped(deps):
    key = await live_key(deps)
    content = base64.b64encode(b"%PDF-1.4 hello").decode()
    email = await send_email(
        deps, key, command(attachments=[AttachmentInput(filename="../../etc/report.pdf", content=content)])
    )
    assert email.attachments[0].filename == "report.pdf"
    assert email.attachments[0].content_type == "application/pdf"
    deps_config = deps.config
    big = base64.b64encode(b"x" * (deps_config.max_attachment_bytes + 1)).decode()
    with pytest.raises(Invalid, match="exceed"):
        await send_email(deps, key, command(attachments=[AttachmentInput(filename="big.bin", content=big)]))


async def test_scheduled_email_waits_for_its_time(deps, clock, mailer, manual_queue):
    from tests.support import make_deps

    deps = make_deps(clock=clock, mailer=mailer, queue=manual_queue)
    key = await live_key(deps)
    at = clock.now() + timedelta(hours=1)
    email = await send_email(deps, key, command(scheduled_at=at))
    assert manual_queue.wakes == [at]
    from autorelay_core.usecases.deliver_email import deliver_email

    assert await deliver_email(deps, email.id) == "skipped"  # not due yet
    clock.advance(hours=1)
    assert await deliver_email(deps, email.id) == "sent"
    with pytest.raises(Invalid, match="at most 30 days"):
        await send_email(deps, key, command(scheduled_at=clock.now() + timedelta(days=31)))


async def test_test_keys_mark_emails_as_test(deps):
    key = await live_key(deps, mode=KeyMode.TEST)
    email = await send_email(deps, key, command())
    assert email.test is True


@pytest.mark.parametrize("separator", ["\v", "\f", "\x1c", "\x85", "\u2028"])
async def test_every_kind_of_line_break_is_refused_in_headers(deps, separator):
    key = await live_key(deps)
    with pytest.raises(Invalid, match="a line break"):
        await send_email(deps, key, command(subject=f"a{separator}b"))
    with pytest.raises(Invalid, match="a line break"):
        await send_email(deps, key, command(headers={"X-Tag": f"a{separator}b"}))


async def test_a_lone_surrogate_is_refused_when_accepted_not_failed_when_sent(deps, mailer):
    """A Python str may hold lone surrogates (an embedding application's data); no message can carry
    them, so the email is refused with the field named instead of failing at delivery."""
    key = await live_key(deps)
    with pytest.raises(Invalid, match=r"html contains a lone surrogate \(U\+D800\)") as refused:
        await send_email(deps, key, command(html="<p>\ud800</p>"))
    assert refused.value.field == "html"
    with pytest.raises(Invalid, match=r"subject must not contain a lone surrogate \(U\+DFFF\)"):
        await send_email(deps, key, command(subject="Hi \udfff"))
    template = await create_template(deps, key, TemplateInput(name="t", subject="Hi", html="<p>{{ name }}</p>"))
    with pytest.raises(Invalid, match="html contains a lone surrogate"):
        await send_email(deps, key, command(html=None, template_id=template.id, data={"name": "\ud83d"}))
    with pytest.raises(Invalid, match="html contains a lone surrogate"):
        await create_template(deps, key, TemplateInput(name="u", subject="Hi", html="<p>\ud800</p>"))
    await deps.queue.drain()
    assert mailer.sent == []

"""No field a tenant controls can put a line break into a written message (security class 1).

Properties over arbitrary contact fields and templates: whatever is accepted, the message that is
written parses with no defects and goes to exactly the intended recipients; whatever could break a
header is refused at the door or fails at delivery with a clear lastError, never sent.
"""

from __future__ import annotations

import email
import email.policy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.mailers.mime import build_message
from autorelay_core.domain.emails import EmailStatus
from autorelay_core.domain.keys import KeyMode
from autorelay_core.errors import Invalid
from autorelay_core.usecases import manage_campaigns
from autorelay_core.usecases.manage_contacts import ContactInput, create_contact, create_list, import_contacts
from autorelay_core.usecases.manage_templates import TemplateInput, create_template
from autorelay_core.usecases.read_emails import get_email
from autorelay_core.usecases.send_email import SendCommand, send_email
from tests.support import RecordingMailer, make_deps
from tests.unit.test_send_email import live_key

# Text that favours what attacks headers: every line break Python knows, controls, and header syntax.
HOSTILE = st.lists(
    st.sampled_from(
        [*list("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\t\x00\x1b:;<>@,\"' =?abcXYZé漢"), "Bcc: x@evil.test"]
    )
    | st.characters(),
    max_size=30,
).map("".join)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def parsed(message: bytes) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    defects = [*parsed.defects, *(d for part in parsed.walk() for d in part.defects)]
    assert not defects, defects
    return parsed


def assert_only_recipient(message: email.message.EmailMessage, address: str) -> None:
    assert [str(a.addr_spec) for a in message["To"].addresses] == [address]
    assert message["Cc"] is None and message["Bcc"] is None
    assert len(message.get_all("To")) == 1


@PROPERTY
@given(name=HOSTILE, company=HOSTILE, subject=HOSTILE)
async def test_campaign_mail_from_any_contact_fields_is_well_formed(name, company, subject):
    mailer = RecordingMailer()
    deps = make_deps(mailer=mailer)
    key = await live_key(deps, mode=KeyMode.TEST)
    target = await create_list(deps, key, "L")
    try:
        contact = await create_contact(
            deps, key, ContactInput(email="alice@example.com", list_id=target.id, name=name, company=company)
        )
    except Invalid as error:
        assert error.message.startswith(("name must not contain", "company must not contain", "name must be at"))
        return
    try:
        campaign = await manage_campaigns.create_campaign(
            deps,
            key,
            manage_campaigns.CampaignInput(
                name="c",
                subject=f"Hi {{{{ name }}}} {subject}",
                from_email="news@acme.test",
                list_id=target.id,
                content="<p>Hello {{ name }}</p>",
            ),
        )
    except Invalid as error:
        assert "subject" in error.message
        return
    await manage_campaigns.launch_campaign(deps, key, campaign.id)
    await deps.queue.drain()
    assert len(mailer.sent) == 1
    sent = mailer.sent[0]
    message = parsed(build_message(sent, deps.clock.now()))
    assert_only_recipient(message, contact.email)
    assert message["Subject"] == sent.subject


@PROPERTY
@given(value=HOSTILE, subject=HOSTILE)
async def test_transactional_template_data_never_breaks_a_header(value, subject):
    mailer = RecordingMailer()
    deps = make_deps(mailer=mailer)
    key = await live_key(deps)
    try:
        template = await create_template(
            deps, key, TemplateInput(name="t", subject=f"{subject} {{{{ v }}}}", html="<p>{{ v }}</p>")
        )
        command = SendCommand(
            to="bob@example.com", from_="Acme <a@acme.test>", template_id=template.id, data={"v": value}
        )
        sent = await send_email(deps, key, command)
    except Invalid as error:
        assert "subject" in error.message
        return
    await deps.queue.drain()
    stored, _ = await get_email(deps, key, sent.id)
    assert stored.status is EmailStatus.SENT
    assert_only_recipient(parsed(build_message(mailer.sent[0], deps.clock.now())), "bob@example.com")


@pytest.mark.parametrize(
    "character", ["\r", "\n", "\v", "\f", "\x1c", "\x85", "\u2028", "\u2029", "\x00", "\t", "\x1b"]
)
async def test_contact_fields_refuse_every_control_character_and_line_break(deps, character):
    key = await live_key(deps)
    target = await create_list(deps, key, "L")
    for field in ("name", "company"):
        fields = ContactInput(email="a@example.com", list_id=target.id, **{field: f"Eve{character}Bcc: x@evil.test"})
        with pytest.raises(Invalid, match=f"^{field} must not contain a (line break|control character) \\(U\\+"):
            await create_contact(deps, key, fields)
    rows = [{"email": "ok@example.com"}, {"email": "b@example.com", "company": f"x{character}y"}]
    with pytest.raises(Invalid, match=r"contacts\[1\]\.company must not contain"):
        await import_contacts(deps, key, target.id, rows)
    assert (await import_contacts(deps, key, target.id, rows[:1])).imported == 1  # nothing stored before


async def test_header_names_are_matched_whole_and_capped(deps):
    key = await live_key(deps)
    base = {"to": "a@example.com", "from_": "a@acme.test", "subject": "s", "html": "<p>x</p>"}
    for bad in ({"X-Tag\n": "v"}, {"X Tag": "v"}, {"X-Tag:": "v"}, {"": "v"}, {"X-" + "a" * 80: "v"}):
        with pytest.raises(Invalid, match="not a valid header name"):
            await send_email(deps, key, SendCommand(**base, headers=bad))
    with pytest.raises(Invalid, match="at most 50 custom headers"):
        await send_email(deps, key, SendCommand(**base, headers={f"X-{i}": "v" for i in range(51)}))
    with pytest.raises(Invalid, match="at most 998 characters"):
        await send_email(deps, key, SendCommand(**base, headers={"X-Long": "v" * 999}))
    with pytest.raises(Invalid, match=r"X-Ok must not contain a line break \(U\+2028\)"):
        await send_email(deps, key, SendCommand(**base, headers={"X-Ok": "a\u2028b"}))


async def test_a_stored_email_with_a_broken_header_fails_with_a_clear_error(deps, mailer):
    """An older row, or any path that skipped the door: checked again right before building."""
    key = await live_key(deps)
    sent = await send_email(
        deps, key, SendCommand(to="a@example.com", from_="a@acme.test", subject="s", html="<p>x</p>")
    )
    row = deps.storage.emails._mail.rows[sent.id]  # as if written before the checks existed
    row.email.subject = "Hi\r\nBcc: victim@example.com"
    await deps.queue.drain()
    stored, events = await get_email(deps, key, sent.id)
    assert stored.status is EmailStatus.FAILED and mailer.sent == []
    assert stored.last_error == "not sent: the Subject header contains a line break (U+000D)"
    assert events[-1].data["error"] == stored.last_error


@pytest.mark.parametrize(
    ("head", "problem"),
    [
        (b"From: a@acme.test\r\nFrom : evil@elsewhere.example\r\n", "not a valid header field"),
        (b"From: a@acme.test\r\nSender: ceo@bank.example\r\n", "Sender header is refused"),
        (b"From: a@acme.test\r\nResent-From: ceo@bank.example\r\n", "Resent-From header is refused"),
        (b"From: a@acme.test\r\nfrom: b@acme.test\r\n", "appears twice"),
        (b"From: a@acme.test\r\nSubject: a\r\nSubject: b\r\n", "appears twice"),
        (b"From: a@acme.test\r\nno colon here\r\n", "not a valid header field"),
    ],
)
def test_a_relayed_message_with_a_header_the_api_refuses_is_refused(head, problem):
    from autorelay_core.domain.headers import relayed_header_problem

    assert problem in relayed_header_problem(head)


def test_a_relayed_message_with_ordinary_headers_passes():
    from autorelay_core.domain.headers import relayed_header_problem

    head = (
        b"From: Ana <a@acme.test>\r\nTo: b@example.com,\r\n c@example.com\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n"
        b"Received: from x\r\nReceived: from y\r\nX-Mailer: swaks\r\nMessage-ID: <1@acme.test>"
    )
    assert relayed_header_problem(head) is None

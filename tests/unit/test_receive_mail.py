"""Receiving mail in the core: receiving domains, a message stored once per project it was sent
to with its webhook events, replies matched to the email they answer (and counted as the
contact's engagement), and attachment links that expire and cannot be altered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from attrs import evolve

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.inbound import Attachment, ReadMail
from autorelay_core.errors import Conflict, Invalid, NotFound
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.ports.inbound import InboundFilter
from autorelay_core.usecases import receive_mail as uc
from autorelay_core.usecases.manage_keys import create_project
from autorelay_core.usecases.manage_webhooks import WebhookInput, create_webhook
from autorelay_core.usecases.send_email import send_email
from tests.support import make_deps
from tests.unit.test_send_email import command, live_key


def read(**changes) -> ReadMail:
    fields = dict(
        from_="Zoe <zoe@customer.test>",
        to=("support@in.acme.test",),
        cc=(),
        reply_to=(),
        subject="Question",
        message_id="<q1@customer.test>",
        in_reply_to="",
        references=(),
        date="",
        text="Hello",
        html="",
        reply_text="Hello",
        headers=(("Subject", "Question"),),
    )
    return ReadMail(**(fields | changes))


@pytest.fixture
def deps(clock, mailer, manual_queue):
    return make_deps(clock=clock, mailer=mailer, queue=manual_queue)


async def test_a_name_is_one_projects_and_the_bounce_domain_is_nobodys(deps):
    acme = await live_key(deps)
    other = Caller.system((await create_project(deps, "other")).id)
    domain = await uc.add_receiving_domain(deps, acme, "In.Acme.Test.")
    assert domain.name == "in.acme.test"
    assert [(r.type, r.name) for r in uc.mx_records(deps, domain)] == [("MX", "in.acme.test")]
    with pytest.raises(Conflict):
        await uc.add_receiving_domain(deps, other, "in.acme.test")
    with pytest.raises(Invalid):
        await uc.add_receiving_domain(deps, acme, "not a domain")
    with_bounces = evolve(deps, config=evolve(deps.config, bounce_domain="bounces.acme.test"))
    with pytest.raises(Invalid, match="bounce domain"):
        await uc.add_receiving_domain(with_bounces, acme, "bounces.acme.test")
    with pytest.raises(NotFound):
        await uc.delete_receiving_domain(deps, other, domain.id)
    assert (await uc.accepts(deps, "anyone@IN.acme.test")).project_id == acme.project_id
    assert await uc.accepts(deps, "anyone@acme.test") is None


async def test_a_message_to_two_projects_is_stored_for_each_with_its_own_recipients(deps, manual_queue):
    acme = await live_key(deps)
    other = Caller.system((await create_project(deps, "other")).id)
    await uc.add_receiving_domain(deps, acme, "in.acme.test")
    await uc.add_receiving_domain(deps, other, "in.other.test")
    hook = await create_webhook(deps, acme, WebhookInput(url="https://93.184.216.34/in", events=["email.received"]))
    pdf = Attachment("", "a.pdf", "application/pdf", 3, "attachment")
    recipients = ["support@in.acme.test", "sales@in.other.test", "stray@nowhere.test"]
    stored = await uc.receive(deps, read(files=((pdf, b"PDF"),)), b"raw", "zoe@customer.test", recipients)
    assert sorted((m.project_id, m.recipients) for m in stored) == sorted(
        [(acme.project_id, ("support@in.acme.test",)), (other.project_id, ("sales@in.other.test",))]
    )
    mine, more = await uc.list_received(deps, acme, CursorRequest(10), InboundFilter())
    assert [m.subject for m in mine] == ["Question"] and not more
    assert await uc.raw_received(deps, acme, mine[0].id) == b"raw"
    with pytest.raises(Invalid, match="subject"):  # PostgreSQL refuses NUL in text: a 400, not a 500
        await uc.list_received(deps, acme, CursorRequest(10), InboundFilter(subject="a\x00b"))
    with pytest.raises(NotFound):
        await uc.get_received(deps, other, mine[0].id)
    (delivery,), _ = await deps.storage.webhooks.recent(acme.project_id, hook[0].id, 10)
    assert delivery.event_type == "email.received" and mine[0].id in delivery.body
    assert manual_queue.wakes, "a pass is asked for to post it"


async def test_attachment_links_work_until_they_expire_and_not_once_altered(deps, clock):
    acme = await live_key(deps)
    await uc.add_receiving_domain(deps, acme, "in.acme.test")
    pdf = Attachment("", "a.pdf", "application/pdf", 3, "attachment")
    (message,) = await uc.receive(deps, read(files=((pdf, b"PDF"),)), b"raw", "", ["x@in.acme.test"])
    view = uc.received_view(deps, message, clock.now())
    token = view["attachments"][0]["download_url"].rsplit("/", 1)[1]
    attachment, data = await uc.linked_file(deps, token)
    assert (attachment.filename, data) == ("a.pdf", b"PDF")
    middle = len(token) // 3  # inside the signed fields (a last base64 character may only pad)
    altered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    with pytest.raises(NotFound):
        await uc.linked_file(deps, altered)
    clock.moment += uc.LINK_LIFETIME + timedelta(seconds=1)
    with pytest.raises(NotFound):
        await uc.linked_file(deps, token)


async def test_a_deleted_message_takes_its_raw_copy_and_attachments_with_it(deps, clock):
    acme = await live_key(deps)
    await uc.add_receiving_domain(deps, acme, "in.acme.test")
    pdf = Attachment("", "a.pdf", "application/pdf", 3, "attachment")
    (message,) = await uc.receive(deps, read(files=((pdf, b"PDF"),)), b"raw", "", ["x@in.acme.test"])
    token = uc.received_view(deps, message, clock.now())["attachments"][0]["download_url"].rsplit("/", 1)[1]
    other = Caller.system((await create_project(deps, "other")).id)
    with pytest.raises(NotFound):
        await uc.delete_received(deps, other, message.id)
    await uc.delete_received(deps, acme, message.id)
    assert deps.blobs.files == {}  # the raw message and the attachment
    with pytest.raises(NotFound):
        await uc.linked_file(deps, token)
    with pytest.raises(NotFound):
        await uc.get_received(deps, acme, message.id)


async def test_a_reply_names_the_email_it_answers_and_counts_as_the_contacts_engagement(deps):
    acme = await live_key(deps)
    await uc.add_receiving_domain(deps, acme, "in.acme.test")
    sent = await send_email(deps, acme, command(to="ann@example.com"))
    # A campaign's email to Ann, as a launch stores it.
    campaign_mail = evolve(sent, id="em_campaign1", message_id="<em_campaign1@acme.test>", campaign_id="cmp_1")
    await deps.storage.emails.add(campaign_mail, [])

    (plain,) = await uc.receive(deps, read(in_reply_to=sent.message_id), b"r", "", ["a@in.acme.test"])
    assert plain.reply_to_email == sent.id and plain.reply_to_campaign == ""
    (reply,) = await uc.receive(
        deps, read(references=("<older@x>", campaign_mail.message_id)), b"r", "", ["a@in.acme.test"]
    )
    assert (reply.reply_to_email, reply.reply_to_campaign) == ("em_campaign1", "cmp_1")
    events = await deps.storage.contact_events.timeline(acme.project_id, "ann@example.com", 10, None)
    assert [(e.name, e.campaign_id, e.email_id) for e in events] == [("email.replied", "cmp_1", "em_campaign1")]
    # A journey's email to Ann (journey_steps tags it with its journey) names the journey.
    journey_mail = evolve(
        sent, id="em_journey1", message_id="<em_journey1@acme.test>", contact_id="con_1", tags={"journey": "jny_1"}
    )
    await deps.storage.emails.add(journey_mail, [])
    (answer,) = await uc.receive(deps, read(in_reply_to=journey_mail.message_id), b"r", "", ["a@in.acme.test"])
    assert (answer.reply_to_email, answer.reply_to_journey) == ("em_journey1", "jny_1")
    assert uc.received_view(deps, answer, deps.clock.now())["reply_to_journey_id"] == "jny_1"

    # A made-up Message-ID naming the id on another domain, and another project's email, name nothing.
    forged = f"<{sent.id}@evil.test>"
    (unknown,) = await uc.receive(deps, read(in_reply_to=forged), b"r", "", ["a@in.acme.test"])
    assert unknown.reply_to_email == ""
    other = await live_key(deps, name="other")
    await uc.add_receiving_domain(deps, other, "in.other.test")
    (elsewhere,) = await uc.receive(deps, read(in_reply_to=sent.message_id), b"r", "", ["a@in.other.test"])
    assert elsewhere.reply_to_email == ""


async def test_received_mail_older_than_the_setting_is_pruned_with_its_files(deps, clock):
    acme = await live_key(deps)
    await uc.add_receiving_domain(deps, acme, "in.acme.test")
    pdf = Attachment("", "a.pdf", "application/pdf", 3, "attachment")
    (old,) = await uc.receive(deps, read(files=((pdf, b"PDF"),)), b"raw", "", ["x@in.acme.test"])
    clock.moment += timedelta(days=20)
    (recent,) = await uc.receive(deps, read(), b"raw2", "", ["x@in.acme.test"])
    assert await uc.prune_received(deps) == 0  # kept until deleted by default
    clock.moment += timedelta(days=15)  # the first is 35 days old, the second 15
    keeping = evolve(deps, config=evolve(deps.config, keep_received=timedelta(days=30)))
    assert await uc.prune_received(keeping) == 1
    assert [m.id for m in (await uc.list_received(deps, acme, CursorRequest(10), InboundFilter()))[0]] == [recent.id]
    assert sorted(deps.blobs.files) == [recent.raw_key]
    with pytest.raises(NotFound):
        await uc.get_received(deps, acme, old.id)
    assert await uc.prune_received(keeping) == 0

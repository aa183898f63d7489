"""Inbound mail's storage: receiving domains (one project each) and received messages with their
webhook deliveries, paged and filtered. One suite over every storage adapter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from autorelay_core.domain.inbound import Attachment, InboundMessage, ReceivingDomain
from autorelay_core.domain.webhooks import WebhookDelivery
from autorelay_core.errors import Conflict
from autorelay_core.ports.inbound import InboundFilter
from tests.contract.test_contact_storage import NOW
from tests.contract.test_webhook_storage import hook


def message(number: int, project: str = "prj_a", **changes) -> InboundMessage:
    fields = dict(
        id=f"inb_{project}_{number}",
        project_id=project,
        received_at=NOW + timedelta(seconds=number),
        envelope_from=f"bounce{number}@sender.test",
        recipients=(f"support+{number}@in.acme.test",),
        from_=f"Ann Example <ann{number % 2}@sender.test>",
        to=("support@in.acme.test",),
        cc=(),
        reply_to=(),
        subject=f"Question {number}",
        message_id=f"<m{number}@sender.test>",
        in_reply_to="",
        references=(),
        text="Hello",
        html="<p>Hello</p>",
        reply_text="Hello",
        headers=(("From", "Ann"), ("Subject", f"Question {number}")),
        size=100 + number,
        raw_key=f"inbound/{project}/{number}/message.eml",
    )
    return InboundMessage(**(fields | changes))


async def test_a_name_is_received_for_by_one_project_and_deleted_only_by_it(store):
    acme = ReceivingDomain("rdom_1", "prj_a", "in.acme.test", NOW)
    await store.inbound.add_domain(acme)
    await store.inbound.add_domain(ReceivingDomain("rdom_2", "prj_a", "acme.test", NOW + timedelta(seconds=1)))
    with pytest.raises(Conflict, match=r"in\.acme\.test"):
        await store.inbound.add_domain(ReceivingDomain("rdom_3", "prj_b", "in.acme.test", NOW))
    assert [d.name for d in await store.inbound.domains("prj_a")] == ["in.acme.test", "acme.test"]
    assert await store.inbound.domains("prj_b") == []
    assert await store.inbound.domain_named("in.acme.test") == acme
    assert await store.inbound.domain_named("other.test") is None
    assert await store.inbound.delete_domain("prj_b", "rdom_1") is False, "another project's"
    assert await store.inbound.delete_domain("prj_a", "rdom_1") is True
    assert await store.inbound.domain_named("in.acme.test") is None


async def test_a_message_is_stored_with_its_deliveries_and_read_back_whole(store):
    await store.webhooks.add(hook("wh_1", events=("email.received",)))
    stored = message(
        1,
        text="Grüße\u2028 and emoji 📬",
        attachments=(Attachment("att_1", "report.pdf", "application/pdf", 12, "attachment", "", "k/1"),),
        references=("<a@x>", "<b@y>"),
    )
    delivery = WebhookDelivery("whd_1", "wh_1", "prj_a", "evt_1", "email.received", '{"type":"email.received"}', NOW)
    await store.inbound.add(stored, (delivery,))
    assert await store.inbound.get("prj_a", stored.id) == stored
    assert await store.inbound.get("prj_b", stored.id) is None, "another project's message is not found"
    (queued,), _ = await store.webhooks.recent("prj_a", "wh_1", 10)
    assert (queued.id, queued.event_type, queued.body) == ("whd_1", "email.received", '{"type":"email.received"}')


async def test_pages_are_newest_first_with_a_cursor_and_filters(store):
    for number in range(1, 8):
        await store.inbound.add(message(number), ())
    await store.inbound.add(message(1, project="prj_b"), ())
    everything = InboundFilter()
    first, more = await store.inbound.page("prj_a", 3, None, everything)
    assert [m.id for m in first] == ["inb_prj_a_7", "inb_prj_a_6", "inb_prj_a_5"] and more
    rest, more = await store.inbound.page("prj_a", 10, first[-1].id, everything)
    assert [m.id for m in rest] == ["inb_prj_a_4", "inb_prj_a_3", "inb_prj_a_2", "inb_prj_a_1"] and not more
    assert await store.inbound.page("prj_a", 10, "inb_prj_b_1", everything) == ([], False), "a stranger's cursor"

    async def ids(**where) -> list[str]:
        found, _ = await store.inbound.page("prj_a", 10, None, InboundFilter(**where))
        return [m.id for m in found]

    assert await ids(sender="ANN1@sender.test") == ["inb_prj_a_7", "inb_prj_a_5", "inb_prj_a_3", "inb_prj_a_1"]
    assert await ids(sender="bounce2@sender.test") == ["inb_prj_a_2"], "the envelope sender counts too"
    assert await ids(sender="ann1@sender") == [], "an address matches whole"
    assert await ids(recipient="support+3@in.acme.test") == ["inb_prj_a_3"]
    assert await ids(subject="question 6") == ["inb_prj_a_6"]
    assert await ids(subject="%") == [] and await ids(subject="_") == [], "LIKE's wildcards are literal"
    assert await ids(sender="ann0@sender.test", subject="4") == ["inb_prj_a_4"]

"""Inbound mail's storage: receiving domains (one project each) and received messages with their
webhook deliveries, paged and filtered. One suite over every storage adapter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from attrs import evolve

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


async def test_routes_are_kept_per_project_oldest_first_and_deleted_only_by_their_project(store):
    from autorelay_core.domain.inbound_routes import InboundRoute

    later = InboundRoute("irt_2", "prj_a", NOW + timedelta(seconds=5), "regex", r"(a|b)@in\.acme\.test", "store")
    first = InboundRoute(
        "irt_1", "prj_a", NOW, "exact", "old@in.acme.test", "reject", smtp_code=551, smtp_message="Gone, try ann@"
    )
    forward = InboundRoute(
        "irt_3", "prj_b", NOW, "plus", "help@in.b.test", "forward", forward_to="me@home.test", forward_from="d@b.test"
    )
    for route in (later, first, forward):
        await store.inbound.add_route(route)
    assert await store.inbound.routes("prj_a") == [first, later]
    assert await store.inbound.routes("prj_b") == [forward]
    assert not await store.inbound.delete_route("prj_b", "irt_1")
    assert await store.inbound.delete_route("prj_a", "irt_1")
    assert await store.inbound.routes("prj_a") == [later]


async def test_a_dmarc_report_is_kept_once_per_project_and_found_by_domain_and_period(store):
    from autorelay_core.domain.dmarc import DmarcRecord, DmarcReport

    def report(report_id: str, project: str = "prj_a", days: int = 0, domain: str = "acme.test") -> DmarcReport:
        rows = (
            DmarcRecord("192.0.2.1", 40, "none", "pass", "fail", domain),
            DmarcRecord("2001:db8::1", 2, "reject", "fail", "fail"),
        )
        begins = NOW.replace(microsecond=0) + timedelta(days=days)
        return DmarcReport(
            f"dmr_{project}_{report_id}",
            project,
            domain,
            "google.com",
            report_id,
            begins,
            begins + timedelta(days=1),
            "none",
            rows,
            received_at=NOW.replace(microsecond=0),
        )

    assert await store.inbound.add_report(report("r1"))
    assert not await store.inbound.add_report(evolve(report("r1"), id="dmr_again"))  # the reporter sent it twice
    assert await store.inbound.add_report(report("r1", "prj_b"))  # another project's copy
    assert await store.inbound.add_report(report("r2", days=-40))
    assert await store.inbound.add_report(report("r3", domain="other.test"))
    found = await store.inbound.reports("prj_a", "acme.test", NOW - timedelta(days=30))
    assert found == [report("r1")]
    assert [r.report_id for r in await store.inbound.reports("prj_a", "acme.test", NOW - timedelta(days=60))] == [
        "r2",
        "r1",
    ]


async def test_domains_of_a_name_are_found_across_projects(store):
    from autorelay_core.domain.domains import Domain

    await store.domains.add(Domain("dom_1", "prj_a", "acme.test", NOW))
    await store.domains.add(Domain("dom_2", "prj_b", "acme.test", NOW))
    await store.domains.add(Domain("dom_3", "prj_b", "other.test", NOW))
    assert sorted(d.id for d in await store.domains.named("ACME.test")) == ["dom_1", "dom_2"]
    assert await store.domains.named("none.test") == []


async def test_a_message_is_deleted_only_by_its_project_and_what_it_was_is_returned(store):
    await store.inbound.add(message(1), ())
    await store.inbound.add(message(2), ())
    assert await store.inbound.delete("prj_b", message(1).id) is None
    gone = await store.inbound.delete("prj_a", message(1).id)
    assert gone is not None and (gone.id, gone.raw_key) == (message(1).id, message(1).raw_key)
    assert await store.inbound.get("prj_a", message(1).id) is None
    assert await store.inbound.delete("prj_a", message(1).id) is None
    assert [m.id for m in (await store.inbound.page("prj_a", 10, None, InboundFilter()))[0]] == [message(2).id]


async def test_messages_received_before_a_moment_are_found_oldest_first_across_projects(store):
    for number, project in ((3, "prj_a"), (1, "prj_b"), (2, "prj_a"), (9, "prj_a")):
        await store.inbound.add(message(number, project), ())
    found = await store.inbound.received_before(NOW + timedelta(seconds=5), 10)
    assert [(m.project_id, m.id) for m in found] == [
        ("prj_b", message(1, "prj_b").id),
        ("prj_a", message(2).id),
        ("prj_a", message(3).id),
    ]
    assert [m.id for m in await store.inbound.received_before(NOW + timedelta(seconds=5), 1)] == [
        message(1, "prj_b").id
    ]

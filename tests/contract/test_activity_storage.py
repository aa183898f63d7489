"""What contacts did: recorded events and campaign mail's engagement, one suite over every storage."""

from __future__ import annotations

from datetime import timedelta

from autorelay_core.domain.activity import ContactEvent
from autorelay_core.domain.emails import Email, Event, EventType
from tests.contract.test_contact_storage import NOW


def event(n: int, name: str, minutes: float, person: str = "ann@example.com", project: str = "prj_a", **extra):
    return ContactEvent(f"cev_{n}", project, person, name, NOW + timedelta(minutes=minutes), **extra)


async def test_a_timeline_is_one_persons_newest_first_and_pages_by_time(store):
    await store.contact_events.add(event(1, "signed_up", 0, properties={"plan": "pro", "seats": 3}))
    await store.contact_events.add(event(2, "upgraded", 10))
    await store.contact_events.add(event(3, "logged_in", 5))
    await store.contact_events.add(event(4, "logged_in", 5))  # the same moment: the later recorded first
    await store.contact_events.add(event(5, "signed_up", 1, person="bob@example.com"))
    await store.contact_events.add(event(6, "signed_up", 1, project="prj_b"))
    found = await store.contact_events.timeline("prj_a", "ann@example.com", 10)
    assert [e.id for e in found] == ["cev_2", "cev_4", "cev_3", "cev_1"]
    assert found[-1].properties == {"plan": "pro", "seats": 3}
    assert found[-1].occurred_at == NOW
    assert [e.id for e in await store.contact_events.timeline("prj_a", "ann@example.com", 2)] == ["cev_2", "cev_4"]
    older = await store.contact_events.timeline("prj_a", "ann@example.com", 10, before=NOW + timedelta(minutes=5))
    assert [e.id for e in older] == ["cev_1"]
    assert await store.contact_events.timeline("prj_b", "bob@example.com", 10) == []


async def test_a_campaign_emails_engagement_joins_its_contacts_timeline_with_the_write(store):
    def mail(n: int, **fields) -> Email:
        return Email(
            f"em_a{n}", "prj_a", f"<a{n}@acme.test>", "news@acme.test", ("Ann@Example.com",), "s", "<p>h</p>", None,
            NOW, **fields,
        )  # fmt: skip

    campaign = mail(1, campaign_id="cmp_1", contact_id="con_1")
    transactional = mail(2)
    await store.emails.add_many([campaign], [Event(EventType.QUEUED, NOW)])
    await store.emails.add(transactional, [Event(EventType.QUEUED, NOW)])
    for email in (campaign, transactional):
        claim = await store.outbox.claim(email.id, NOW, NOW + timedelta(seconds=60))
        sent = claim.email.record(EventType.SENT, NOW + timedelta(seconds=1))
        assert await store.outbox.finish(claim, claim.email, [sent])
    stored = await store.emails.get("prj_a", "em_a1")
    opened = stored.record(EventType.OPENED, NOW + timedelta(seconds=2))
    assert await store.emails.record(stored, [opened], since=await store.emails.get("prj_a", "em_a1"))
    found = await store.contact_events.timeline("prj_a", "ann@example.com", 10)
    assert [(e.name, e.campaign_id, e.email_id) for e in found] == [
        ("email.opened", "cmp_1", "em_a1"),
        ("email.sent", "cmp_1", "em_a1"),
    ]  # the transactional email is not a contact's: nothing of it here
    assert found[0].occurred_at == NOW + timedelta(seconds=2)
    stale = await store.emails.get("prj_a", "em_a1")
    stale.opens = 0  # a writer that read before the open: refused, and no event of it either
    assert not await store.emails.record(stale, [stale.record(EventType.CLICKED, NOW)], since=stale)
    assert len(await store.contact_events.timeline("prj_a", "ann@example.com", 10)) == 2

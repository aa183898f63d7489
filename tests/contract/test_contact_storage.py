"""Contacts, lists and OTP codes: one suite over every storage adapter."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from autorelay_core.domain.contacts import Contact, ContactList, ContactStatus
from autorelay_core.domain.otp import OtpCode
from autorelay_core.errors import Conflict
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.ports import ContactQuery
from tests.support import FakeClock

NOW = FakeClock().now()
_n = iter(range(10**9))


def contact(email: str, list_id: str = "lst_a", project: str = "prj_a", **fields) -> Contact:
    return Contact(f"con_{next(_n):06d}", project, list_id, email, NOW, **fields)


async def with_list(store, list_id: str = "lst_a", project: str = "prj_a", **fields) -> ContactList:
    created = ContactList(list_id, project, f"list {list_id}", NOW, **fields)
    await store.lists.add(created)
    return created


async def test_an_address_is_unique_per_list_case_insensitively_and_kept_as_given(store):
    await with_list(store)
    await with_list(store, "lst_b")
    first = contact("Alice@Example.com", name="Alice")
    await store.contacts.add(first)
    with pytest.raises(Conflict):
        await store.contacts.add(contact("alice@example.COM"))
    await store.contacts.add(contact("alice@example.com", list_id="lst_b"))
    assert (await store.contacts.get("prj_a", first.id)).email == "Alice@Example.com"
    assert await store.contacts.get("prj_other", first.id) is None
    moved = contact("ALICE@example.com", list_id="lst_b")
    with pytest.raises(Conflict):
        await store.contacts.add(moved)


async def test_add_many_skips_addresses_already_there_or_repeated_and_returns_the_inserted(store):
    await with_list(store)
    await store.contacts.add(contact("old@example.com"))
    batch = [contact("new1@example.com"), contact("OLD@example.com"), contact("new2@example.com"), contact("NEW1@x.y")]
    batch[3] = contact("New1@Example.com")
    inserted = await store.contacts.add_many(batch)
    assert [c.email for c in inserted] == ["new1@example.com", "new2@example.com"]
    page = await store.contacts.page("prj_a", ContactQuery("lst_a"), OffsetRequest(1, 50))
    assert [c.email for c in page.items] == ["old@example.com", "new1@example.com", "new2@example.com"]
    assert await store.contacts.add_many([]) == []


async def test_pages_search_and_filter_with_totals(store):
    await with_list(store)
    await with_list(store, "lst_b")
    names = ["Zoë Ünal", "Bob", "Carol", "Dan", "Eve"]
    for i, name in enumerate(names):
        await store.contacts.add(contact(f"user{i}@example.com", name=name))
    await store.contacts.add(contact("user9@example.com", list_id="lst_b"))
    unsubscribed = contact("100%_off@example.com", status=ContactStatus.UNSUBSCRIBED)
    await store.contacts.add(unsubscribed)
    query = ContactQuery("lst_a")
    first = await store.contacts.page("prj_a", query, OffsetRequest(1, 2))
    second = await store.contacts.page("prj_a", query, OffsetRequest(2, 2))
    assert first.total == second.total == 6
    assert [c.name for c in first.items + second.items] == ["Zoë Ünal", "Bob", "Carol", "Dan"]
    assert (await store.contacts.page("prj_a", query, OffsetRequest(9, 2))).items == []
    assert [
        c.name for c in (await store.contacts.page("prj_a", ContactQuery("lst_a", "ZOË"), OffsetRequest(1, 50))).items
    ] == ["Zoë Ünal"]
    by_email = await store.contacts.page("prj_a", ContactQuery("lst_a", "USER3@"), OffsetRequest(1, 50))
    assert [c.name for c in by_email.items] == ["Dan"] and by_email.total == 1
    # LIKE's wildcards are matched literally.
    literal = await store.contacts.page("prj_a", ContactQuery("lst_a", "100%_"), OffsetRequest(1, 50))
    assert [c.id for c in literal.items] == [unsubscribed.id]
    assert (await store.contacts.page("prj_a", ContactQuery("lst_a", "%"), OffsetRequest(1, 50))).total == 1
    status = await store.contacts.page(
        "prj_a", ContactQuery("lst_a", status=ContactStatus.UNSUBSCRIBED), OffsetRequest(1, 50)
    )
    assert [c.id for c in status.items] == [unsubscribed.id]
    assert (await store.contacts.page("prj_other", query, OffsetRequest(1, 50))).total == 0
    assert await store.contacts.count("prj_a") == 7


async def test_update_delete_and_confirming_pending_addresses(store):
    await with_list(store)
    await with_list(store, "lst_b")
    pending = contact("p@example.com", status=ContactStatus.PENDING)
    other = contact("P@EXAMPLE.com", list_id="lst_b", status=ContactStatus.PENDING)
    await store.contacts.add(pending)
    await store.contacts.add(other)
    await store.contacts.add(contact("q@example.com"))
    assert await store.contacts.confirm_pending("prj_a", "p@example.com") == 2
    assert (await store.contacts.get("prj_a", other.id)).status is ContactStatus.SUBSCRIBED
    assert await store.contacts.confirm_pending("prj_a", "p@example.com") == 0
    pending.email = "Q@example.com"
    with pytest.raises(Conflict):
        await store.contacts.update(pending)
    pending.email, pending.company = "r@example.com", "Acme"
    await store.contacts.update(pending)
    assert (await store.contacts.get("prj_a", pending.id)).company == "Acme"
    assert not await store.contacts.delete("prj_other", pending.id)
    assert await store.contacts.delete("prj_a", pending.id)
    assert await store.contacts.get("prj_a", pending.id) is None


async def test_lists_carry_live_counts_and_take_their_contacts_with_them(store):
    first = await with_list(store, double_opt_in=True)
    await with_list(store, "lst_b")
    await with_list(store, "lst_c", project="prj_other")
    for i in range(3):
        await store.contacts.add(contact(f"c{i}@example.com"))
    await store.contacts.add(contact("b@example.com", list_id="lst_b"))
    assert [(x.id, x.contact_count) for x in await store.lists.all("prj_a")] == [("lst_a", 3), ("lst_b", 1)]
    got = await store.lists.get("prj_a", "lst_a")
    assert got.double_opt_in and got.contact_count == 3 and got.name == first.name
    assert await store.lists.get("prj_other", "lst_a") is None
    got.name, got.double_opt_in = "renamed", False
    await store.lists.update(got)
    assert (await store.lists.get("prj_a", "lst_a")).name == "renamed"
    assert not await store.lists.delete("prj_other", "lst_a")
    assert await store.lists.delete("prj_a", "lst_a")
    assert await store.contacts.count("prj_a") == 1


async def test_otp_codes_are_replaced_used_once_and_count_wrong_tries(store):
    def code(id_: str) -> OtpCode:
        return OtpCode(id_, "prj_a", "a@example.com", "subscribe", "h" + id_, NOW, NOW + timedelta(minutes=10))

    await store.otp.put(code("otp_1"))
    await store.otp.put(code("otp_2"))
    current = await store.otp.current("prj_a", "a@example.com", "subscribe")
    assert current.id == "otp_2" and current.code_hash == "hotp_2" and current.wrong == 0
    assert await store.otp.current("prj_a", "a@example.com", "login") is None
    await store.otp.wrong_try(current)
    assert not await store.otp.use(current, NOW), "a wrong try in between: the caller's view is stale"
    current = await store.otp.current("prj_a", "a@example.com", "subscribe")
    assert current.wrong == 1
    results = await asyncio.gather(store.otp.use(current, NOW), store.otp.use(current, NOW))
    assert sorted(results) == [False, True]
    assert (await store.otp.current("prj_a", "a@example.com", "subscribe")).used_at == NOW
    await store.otp.put(code("otp_3"))
    fresh = await store.otp.current("prj_a", "a@example.com", "subscribe")
    assert fresh.used_at is None and fresh.wrong == 0


async def test_suppressions_keep_the_first_entry_match_case_insensitively_and_page_by_address(store):
    from autorelay_core.domain.suppressions import Suppression, SuppressionReason

    for address in ("b@example.com", "A@example.com", "c@example.com"):
        await store.suppressions.add(Suppression("prj_a", address, SuppressionReason.BOUNCE, NOW, "550"))
    await store.suppressions.add(Suppression("prj_a", "a@EXAMPLE.com", SuppressionReason.COMPLAINT, NOW))
    await store.suppressions.add(Suppression("prj_b", "z@example.com", SuppressionReason.COMPLAINT, NOW))
    (found,) = await store.suppressions.matching("prj_a", ["a@example.com", "nobody@example.com", "a@example.com"])
    assert (found.email, found.reason, found.detail) == ("A@example.com", SuppressionReason.BOUNCE, "550")
    assert await store.suppressions.matching("prj_b", ["a@example.com"]) == []
    assert await store.suppressions.matching("prj_a", []) == []
    first = await store.suppressions.page("prj_a", 2, None)
    rest = await store.suppressions.page("prj_a", 2, first[-1].email_key)
    assert [s.email_key for s in first + rest] == ["a@example.com", "b@example.com", "c@example.com"]
    assert await store.suppressions.remove("prj_a", "b@example.com")
    assert not await store.suppressions.remove("prj_a", "b@example.com")
    assert [s.email_key for s in await store.suppressions.page("prj_a", 10, None)] == ["a@example.com", "c@example.com"]


async def test_undeliverable_addresses_mark_their_contacts_once(store):
    await with_list(store)
    await with_list(store, "lst_b")
    first = contact("x@example.com")
    await store.contacts.add(first)
    await store.contacts.add(contact("X@example.com", list_id="lst_b", status=ContactStatus.COMPLAINED))
    assert await store.contacts.mark_undeliverable("prj_a", "x@example.com", ContactStatus.BOUNCED) == 1
    assert (await store.contacts.get("prj_a", first.id)).status is ContactStatus.BOUNCED
    assert await store.contacts.mark_undeliverable("prj_a", "x@example.com", ContactStatus.COMPLAINED) == 0


async def test_campaigns_page_newest_first_filter_update_and_count(store):
    from autorelay_core.domain.campaigns import Campaign, CampaignStatus

    def campaign(n: int, project: str = "prj_a") -> Campaign:
        return Campaign(f"cmp_{n}", project, f"c{n}", "Hi", "news@acme.test", "lst_a", "<p>{{ name }}</p>", NOW, NOW)

    for n in range(5):
        await store.campaigns.add(campaign(n))
    await store.campaigns.add(campaign(9, "prj_b"))
    first = await store.campaigns.get("prj_a", "cmp_1")
    assert first == campaign(1) and await store.campaigns.get("prj_b", "cmp_1") is None
    first.status, first.launched_at, first.total, first.sent = CampaignStatus.SENDING, NOW, 10, 3
    await store.campaigns.update(first)
    second = await store.campaigns.get("prj_a", "cmp_2")
    second.status = CampaignStatus.COMPLETED
    await store.campaigns.update(second)
    assert await store.campaigns.get("prj_a", "cmp_1") == first
    page = await store.campaigns.page("prj_a", None, OffsetRequest(1, 3))
    assert [c.id for c in page.items] == ["cmp_4", "cmp_3", "cmp_2"] and page.total == 5
    sending = await store.campaigns.page("prj_a", CampaignStatus.SENDING, OffsetRequest(1, 10))
    assert [c.id for c in sending.items] == ["cmp_1"] and sending.total == 1
    counts = await store.campaigns.counts("prj_a")
    assert (counts.total, counts.sending, counts.completed) == (5, 1, 1)
    assert not await store.campaigns.delete("prj_b", "cmp_0")
    assert await store.campaigns.delete("prj_a", "cmp_0")
    assert (await store.campaigns.counts("prj_a")).total == 4
    assert (await store.campaigns.counts("prj_none")).total == 0


async def test_campaign_emails_are_stored_once_per_contact_and_counted_by_status(store):
    from autorelay_core.domain.campaigns import Campaign, CampaignStatus
    from autorelay_core.domain.emails import Email, EmailStatus, Event, EventType

    def mail(n: int, contact: str) -> Email:
        return Email(
            f"em_c{n}", "prj_a", f"<{n}@acme.test>", "a@acme.test", ("x@example.com",), "s", "<p>h</p>", None, NOW,
            campaign_id="cmp_1", contact_id=contact,
        )  # fmt: skip

    queued = [Event(EventType.QUEUED, NOW)]
    assert await store.emails.add_many([mail(1, "con_1"), mail(2, "con_2")], queued) == 2
    assert await store.emails.add_many([mail(3, "con_2"), mail(4, "con_3")], queued) == 1, "con_2 has one already"
    assert [e.type for e in await store.emails.events("em_c4")] == [EventType.QUEUED]
    assert await store.emails.events("em_c3") == []
    claim = await store.outbox.claim("em_c1", NOW, NOW + timedelta(seconds=60))
    claim.email.record(EventType.SENT, NOW)
    await store.outbox.finish(claim, claim.email, [])
    assert await store.campaign_mail.statuses("cmp_1") == {EmailStatus.SENT: 1, EmailStatus.QUEUED: 2}
    assert await store.campaign_mail.statuses("cmp_other") == {}
    sending = Campaign("cmp_1", "prj_a", "c", "s", "a@acme.test", "lst_a", "<p>x</p>", NOW, NOW, CampaignStatus.SENDING)
    await store.campaigns.add(sending)
    await store.campaigns.add(Campaign("cmp_2", "prj_b", "c", "s", "a@acme.test", "lst_a", "<p>x</p>", NOW, NOW))
    paused = Campaign("cmp_3", "prj_b", "c", "s", "a@acme.test", "lst_a", "<p>x</p>", NOW, NOW, CampaignStatus.PAUSED)
    await store.campaigns.add(paused)
    assert [c.id for c in await store.campaigns.running()] == ["cmp_1", "cmp_3"]


def _campaign_mail(n: int, contact: str, due_in: float = 0):
    from autorelay_core.domain.emails import Email

    return Email(
        f"em_h{n}", "prj_a", f"<h{n}@acme.test>", "a@acme.test", ("x@example.com",), "s", "<p>h</p>", None, NOW,
        scheduled_at=NOW + timedelta(seconds=due_in), campaign_id="cmp_h", contact_id=contact,
    )  # fmt: skip


async def test_a_campaigns_held_mail_is_not_claimed_until_released_with_its_pace_kept(store):
    from autorelay_core.domain.emails import Event, EventType

    later = NOW + timedelta(hours=1)
    mails = [_campaign_mail(n, f"con_{n}", due_in=n) for n in range(3)]
    await store.emails.add_many(mails, [Event(EventType.QUEUED, NOW)])
    lease = timedelta(seconds=60)
    first = await store.outbox.claim_due(NOW, NOW + lease, 1)  # em_h0 is in flight when the pause comes
    assert await store.campaign_mail.hold("cmp_h") == 2
    assert await store.campaign_mail.hold("cmp_other") == 0
    assert await store.outbox.claim_due(later, later + lease, 10) == []
    assert await store.outbox.stale(later, later, 10) == [first[0].email.id], "held mail is not 'lost' mail"
    assert await store.campaign_mail.hold("cmp_h") == 1, "a lease that ran out is held again"
    assert await store.campaign_mail.release("cmp_h", later) == 3
    assert await store.campaign_mail.release("cmp_h", later) == 0
    # Shifted together: the first held one (due NOW + 1 s) is due at `later`, the next 1 s after.
    at = later + timedelta(seconds=0.5)
    assert [c.email.id for c in await store.outbox.claim_due(at, at + lease, 10)] == ["em_h1"]
    at = later + timedelta(seconds=1.5)
    assert [c.email.id for c in await store.outbox.claim_due(at, at + lease, 10)] == ["em_h2"]
    at = later + timedelta(days=1)
    assert [c.email.id for c in await store.outbox.claim_due(at, at + lease, 10)] == ["em_h0"]


async def test_campaign_mail_is_charged_per_new_email_or_not_stored_at_all(store):
    from autorelay_core.domain.emails import Event, EventType
    from autorelay_core.errors import QuotaExceeded
    from autorelay_core.policies.quota import Charge

    quota = (Charge("emails", "2026-05", 5),)
    queued = [Event(EventType.QUEUED, NOW)]
    assert await store.emails.add_many([_campaign_mail(n, f"con_{n}") for n in range(3)], queued, quota) == 3
    assert await store.quota.usage("prj_a", "emails", "2026-05") == 3
    with pytest.raises(QuotaExceeded, match="5 emails"):
        await store.emails.add_many([_campaign_mail(n, f"con_{n}") for n in range(3, 6)], queued, quota)
    assert await store.emails.get("prj_a", "em_h3") is None, "nothing of a refused launch is stored"
    assert await store.quota.usage("prj_a", "emails", "2026-05") == 3
    # A relaunch after a crash: the 3 stored are skipped and not charged again.
    assert await store.emails.add_many([_campaign_mail(n, f"con_{n}") for n in range(5)], queued, quota) == 2
    assert await store.quota.usage("prj_a", "emails", "2026-05") == 5


async def test_unsubscribing_changes_only_a_subscribed_or_pending_contact_of_that_list(store):
    from autorelay_core.domain.campaigns import Campaign

    await with_list(store)
    await with_list(store, "lst_b")
    subscribed, pending, bounced = (
        contact("s@x.test"),
        contact("p@x.test", status=ContactStatus.PENDING),
        contact("b@x.test", status=ContactStatus.BOUNCED),
    )
    for item in (subscribed, pending, bounced):
        await store.contacts.add(item)
    assert not await store.contacts.unsubscribe("prj_a", subscribed.id, "lst_b"), "the token's list must match"
    assert not await store.contacts.unsubscribe("prj_b", subscribed.id, "lst_a"), "and its project"
    assert await store.contacts.unsubscribe("prj_a", subscribed.id, "lst_a")
    assert not await store.contacts.unsubscribe("prj_a", subscribed.id, "lst_a"), "the second time changes nothing"
    assert await store.contacts.unsubscribe("prj_a", pending.id, "lst_a")
    assert not await store.contacts.unsubscribe("prj_a", bounced.id, "lst_a")
    assert not await store.contacts.unsubscribe("prj_a", "con_gone", "lst_a")
    statuses = {
        c.email: c.status
        for c in (await store.contacts.page("prj_a", ContactQuery("lst_a"), OffsetRequest(1, 10))).items
    }
    assert statuses == {"s@x.test": "unsubscribed", "p@x.test": "unsubscribed", "b@x.test": "bounced"}

    campaign = Campaign("cmp_u", "prj_a", "c", "s", "a@acme.test", "lst_a", "<p>x</p>", NOW, NOW)
    await store.campaigns.add(campaign)
    stale = await store.campaigns.get("prj_a", "cmp_u")
    await store.campaigns.count_unsubscribed("prj_a", "cmp_u")
    await store.campaigns.count_unsubscribed("prj_b", "cmp_u")  # another project's: no effect
    stale.sent = 7
    await store.campaigns.update(stale)  # written from a read older than the count
    found = await store.campaigns.get("prj_a", "cmp_u")
    assert (found.unsubscribed, found.sent) == (1, 7)


async def test_totals_follow_every_write_and_search_finds_any_part_of_an_address(store):
    """The totals come from counts the backend keeps (SQLite and PostgreSQL: triggers), not from
    counting the list; every write path must move them, and another project's list shows none."""
    await with_list(store)
    await with_list(store, "lst_b")
    a, b = contact("a@example.com"), contact("b@example.com", status=ContactStatus.PENDING)
    await store.contacts.add(a)
    await store.contacts.add(b)
    batch = [contact(f"m{i}@example.com", name=f"Member {i}") for i in range(5)] + [contact("A@example.com")]
    assert len(await store.contacts.add_many(batch)) == 5

    async def totals(list_id: str = "lst_a") -> list[int]:
        statuses = (None, ContactStatus.SUBSCRIBED, ContactStatus.PENDING)
        statuses += (ContactStatus.UNSUBSCRIBED, ContactStatus.BOUNCED)
        pages = [
            await store.contacts.page("prj_a", ContactQuery(list_id, status=s), OffsetRequest(1, 1)) for s in statuses
        ]
        return [p.total for p in pages]

    assert await totals() == [7, 6, 1, 0, 0]
    await store.contacts.confirm_pending("prj_a", "b@example.com")
    await store.contacts.unsubscribe("prj_a", a.id, "lst_a")
    await store.contacts.mark_undeliverable("prj_a", "m0@example.com", ContactStatus.BOUNCED)
    assert await totals() == [7, 5, 0, 1, 1]
    await store.contacts.delete("prj_a", b.id)
    moved = await store.contacts.get("prj_a", a.id)
    moved.list_id = "lst_b"
    await store.contacts.update(moved)
    assert await totals() == [5, 4, 0, 0, 1] and await totals("lst_b") == [1, 0, 0, 1, 0]
    assert [(x.id, x.contact_count) for x in await store.lists.all("prj_a")] == [("lst_a", 5), ("lst_b", 1)]
    assert await store.contacts.count("prj_a") == 6
    assert (await store.contacts.page("prj_other", ContactQuery("lst_a"), OffsetRequest(1, 1))).total == 0

    async def found(needle: str) -> list[str]:
        page = await store.contacts.page("prj_a", ContactQuery("lst_a", needle), OffsetRequest(1, 50))
        assert page.total == len(page.items)
        return sorted(c.email for c in page.items)

    members = [f"m{i}@example.com" for i in range(5)]
    assert await found("m3") == ["m3@example.com"], "two letters (no trigram index can help): still found"
    assert await found("3@EXA") == ["m3@example.com"], "any part, any case"
    assert await found("ample.c") == members
    assert await found("ber 4") == ["m4@example.com"], "a name's part"
    assert await found('"m1') == [] and await found("m1'") == [], "quotes are text"
    renamed = await store.contacts.get(
        "prj_a", (await store.contacts.page("prj_a", ContactQuery("lst_a", "m2@"), OffsetRequest(1, 1))).items[0].id
    )
    renamed.email = "renamed@example.org"
    await store.contacts.update(renamed)
    assert await found("m2@") == [] and await found("amed@example.o") == ["renamed@example.org"]


async def test_a_persons_contacts_and_the_people_of_a_project_are_read_by_address(store):
    await with_list(store)
    await with_list(store, "lst_b")
    await with_list(store, "lst_c", project="prj_b")
    ann = contact("Ann@example.com")
    bob = contact("bob@example.com")
    ann_b = contact("ann@EXAMPLE.com", "lst_b")
    cy = contact("cy@example.com", "lst_b")
    for c in (ann, bob, ann_b, cy, contact("ann@example.com", "lst_c", project="prj_b")):
        await store.contacts.add(c)
    assert [c.id for c in await store.contacts.of_person("prj_a", "ann@example.com")] == [ann.id, ann_b.id]
    assert await store.contacts.of_person("prj_a", "dee@example.com") == []
    assert [c.email for c in await store.contacts.people("prj_a", 10)] == [
        "Ann@example.com",
        "bob@example.com",
        "cy@example.com",
    ], "one per address, its oldest contact"
    first = await store.contacts.people("prj_a", 2)
    assert [c.id for c in first] == [ann.id, bob.id]
    assert [c.id for c in await store.contacts.people("prj_a", 2, after=bob.id)] == [cy.id]
    assert await store.contacts.people("prj_a", 2, after=cy.id) == []
    many = await store.contacts.get_many("prj_a", [cy.id, "con_gone", ann.id])
    assert [c.id for c in many] == [cy.id, ann.id], "in the ids' order, the missing left out"
    assert await store.contacts.get_many("prj_b", [ann.id]) == [], "another project's contact is not found"

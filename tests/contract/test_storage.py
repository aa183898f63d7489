"""One suite for the storage port, run over every storage adapter.

A new adapter (Postgres) only adds a fixture parameter here.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autorelay_core.domain.emails import Email, EmailStatus, Event, EventType
from autorelay_core.domain.keys import ApiKey, KeyMode
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.domain.templates import Template
from autorelay_core.errors import Conflict
from autorelay_core.policies.pagination import CursorRequest, Order
from autorelay_core.ports import EmailFilter
from tests import backends
from tests.contract.conftest import BACKENDS
from tests.support import FakeClock

NOW = FakeClock().now()


_counter = iter(range(10**9))


def new_email(project_id: str = "prj_a", **overrides) -> Email:
    n = next(_counter)
    fields = {
        "id": f"em_{n:08d}",
        "project_id": project_id,
        "message_id": f"<{n}@acme.test>",
        "sender": "Acme <a@acme.test>",
        "to": ("bob@example.com",),
        "subject": "s",
        "html": "<p>h</p>",
        "text": "h",
        "created_at": NOW,
    }
    fields.update(overrides)
    return Email(**fields)


async def add(store, email: Email) -> Email:
    await store.emails.add(email, [Event(EventType.QUEUED, email.created_at)])
    return email


async def test_projects_round_trip_and_names_are_unique(store):
    project = Project("prj_1", "acme", NOW)
    await store.projects.add(project)
    assert await store.projects.get("prj_1") == project
    await store.projects.set_uncertain_policy("prj_1", transactional=False, campaigns=True)
    stored = await store.projects.get("prj_1")
    assert (stored.resend_uncertain_transactional, stored.resend_uncertain_campaigns) == (False, True)
    await store.projects.set_uncertain_policy("prj_1", transactional=True, campaigns=False)
    assert not (await store.projects.get("prj_1")).webhooks_local
    await store.projects.set_webhooks_local("prj_1", True)
    assert (await store.projects.get("prj_1")).webhooks_local
    await store.projects.set_webhooks_local("prj_1", False)
    await store.projects.add(Project("prj_2", "other", NOW))
    await store.projects.rename("prj_1", "acme corp")
    assert (await store.projects.get("prj_1")).name == "acme corp"
    with pytest.raises(Conflict):
        await store.projects.rename("prj_2", "acme corp")
    assert (await store.projects.get_by_name("acme corp")).id == "prj_1"
    with pytest.raises(Conflict):
        await store.projects.add(Project("prj_3", "acme corp", NOW))
    await store.projects.set_status("prj_1", AccountStatus.FLAGGED, "bounces")
    assert (await store.projects.get("prj_1")).status is AccountStatus.FLAGGED
    assert [p.id for p in await store.projects.list()] == ["prj_1", "prj_2"]


async def test_keys_are_found_by_hash_and_revocation_sticks(store):
    await store.projects.add(Project("prj_1", "acme", NOW))
    key = ApiKey("key_1", "prj_1", "k", KeyMode.TEST, "ab" * 32, "abcd", ("emails.send",), NOW)
    await store.keys.add(key)
    assert await store.keys.get_by_hash("ab" * 32) == key
    assert await store.keys.get_by_hash("cd" * 32) is None
    assert await store.keys.revoke("key_1", NOW + timedelta(seconds=1))
    assert await store.keys.revoke("key_1", NOW + timedelta(seconds=9))
    assert (await store.keys.get_by_hash("ab" * 32)).revoked_at == NOW + timedelta(seconds=1)
    assert not await store.keys.revoke("key_missing", NOW)
    assert [k.id for k in await store.keys.list("prj_1")] == ["key_1"]


async def test_email_round_trips_with_events_and_stays_in_its_project(store):
    email = await add(store, new_email(tags={"type": "reset", "n": 2}, headers={"X-A": "1"}))
    assert await store.emails.get("prj_a", email.id) == email
    assert await store.emails.get("prj_other", email.id) is None
    assert [e.type for e in await store.emails.events(email.id)] == [EventType.QUEUED]


async def test_content_is_written_once_and_later_writes_store_the_record(store):
    """A delivery's text generated from the HTML, or any body a later write carries, is not
    stored: what was accepted stays; the status, counters and provider id are what change."""
    email = await add(store, new_email(text=None, raw=b"Subject: x\r\n\r\nrelayed\r\n"))
    claim = await store.outbox.claim(email.id, NOW, NOW + timedelta(seconds=60))
    assert claim.email == email, "a claim reads the content back whole"
    delivered = claim.email
    delivered.text, delivered.html, delivered.provider_message_id = "generated", "<p>tracked</p>", "<p@mx>"
    event = delivered.record(EventType.SENT, NOW)
    assert await store.outbox.finish(claim, delivered, [event])
    stored = await store.emails.get("prj_a", email.id)
    assert (stored.html, stored.text, stored.raw) == (email.html, None, email.raw)
    assert (stored.status, stored.provider_message_id) == (EmailStatus.SENT, "<p@mx>")
    stored.html = "<p>changed</p>"
    stored.record(EventType.OPENED, NOW)
    assert await store.emails.record(stored, [])
    again = await store.emails.get("prj_a", email.id)
    assert (again.html, again.opens) == (email.html, 1)
    assert (await store.emails.by_provider_id("<p@mx>")).html == email.html


async def test_only_one_claim_wins_and_a_lost_lease_cannot_finish(store):
    email = await add(store, new_email())
    lease = NOW + timedelta(seconds=60)
    first = await store.outbox.claim(email.id, NOW, lease)
    assert first is not None and first.attempt == 1
    assert await store.outbox.claim(email.id, NOW, lease) is None
    later = NOW + timedelta(seconds=61)
    second = await store.outbox.claim(email.id, later, later + timedelta(seconds=60))
    assert second is not None and second.attempt == 2
    sent = second.email
    sent.record(EventType.SENT, later)
    assert not await store.outbox.finish(first, sent, [])
    assert await store.outbox.finish(second, sent, [Event(EventType.SENT, later)])
    assert (await store.emails.get("prj_a", email.id)).status is EmailStatus.SENT
    assert [e.type for e in await store.emails.events(email.id)] == [EventType.QUEUED, EventType.SENT]
    assert await store.outbox.claim(email.id, later + timedelta(days=1), later + timedelta(days=2)) is None


async def test_scheduled_and_retried_emails_are_claimable_only_when_due(store):
    email = await add(store, new_email(scheduled_at=NOW + timedelta(minutes=5)))
    assert await store.outbox.claim(email.id, NOW, NOW + timedelta(minutes=1)) is None
    at = NOW + timedelta(minutes=5)
    claim = await store.outbox.claim(email.id, at, at + timedelta(minutes=1))
    assert claim is not None
    assert await store.outbox.retry_later(
        claim, at + timedelta(minutes=10), "451 later", Event(EventType.DEFERRED, at, {"error": "451 later"})
    )
    assert await store.outbox.claim(email.id, at + timedelta(minutes=9), at + timedelta(minutes=20)) is None
    retried = await store.outbox.claim(email.id, at + timedelta(minutes=10), at + timedelta(minutes=20))
    assert retried is not None and retried.email.last_error == "451 later"
    events = await store.emails.events(email.id)
    assert [e.type for e in events] == [EventType.QUEUED, EventType.DEFERRED] and events[1].data == {
        "error": "451 later"
    }
    assert retried.email.status is EmailStatus.QUEUED


async def test_a_postponed_email_comes_back_when_due_without_spending_an_attempt(store):
    email = await add(store, new_email())
    claim = await store.outbox.claim(email.id, NOW, NOW + timedelta(minutes=1))
    assert claim is not None and claim.attempt == 1
    later = NOW + timedelta(seconds=30)
    assert await store.outbox.postpone(claim, later)
    assert not await store.outbox.postpone(claim, later)  # that claim is spent
    assert not await store.outbox.finish(claim, claim.email, [])
    assert await store.outbox.claim(email.id, later - timedelta(seconds=1), later + timedelta(minutes=1)) is None
    again = await store.outbox.claim(email.id, later, later + timedelta(minutes=1))
    assert again is not None and again.attempt == 1  # pacing held it; nothing was tried
    assert [e.type for e in await store.emails.events(email.id)] == [EventType.QUEUED]
    # A provider that refused the call for its rate (after our hand-over record) gives it back too.
    assert await store.outbox.handover(again)
    assert await store.outbox.postpone(again, later + timedelta(seconds=1))
    third = await store.outbox.claim(email.id, later + timedelta(seconds=1), later + timedelta(minutes=1))
    assert third is not None and third.attempt == 1


async def test_stale_takes_back_expired_leases_and_names_waiting_rows_without_rewriting_them(store):
    pending = await add(store, new_email())
    leased = await add(store, new_email())
    done = await add(store, new_email())
    await store.outbox.claim(leased.id, NOW, NOW + timedelta(seconds=60))
    claim = await store.outbox.claim(done.id, NOW, NOW + timedelta(seconds=60))
    await store.outbox.finish(claim, claim.email, [])
    assert await store.outbox.stale(NOW, NOW - timedelta(seconds=30), 100) == []
    later = NOW + timedelta(seconds=61)
    assert sorted(await store.outbox.stale(later, later - timedelta(seconds=30), 100)) == sorted(
        [pending.id, leased.id]
    )
    # The lease was taken back (now due `later`, within the grace); the waiting row keeps its
    # place at the front of the queue, and is named again while it waits.
    assert await store.outbox.stale(later, later - timedelta(seconds=30), 100) == [pending.id]
    (first, second) = await store.outbox.claim_due(later, later + timedelta(seconds=60), 10)
    assert (first.email.id, second.email.id) == (pending.id, leased.id) and second.attempt == 2


async def test_a_handover_is_never_claimed_again_only_settled_once_its_lease_ran_out(store):
    email = await add(store, new_email())
    lease = timedelta(seconds=60)
    claim = await store.outbox.claim(email.id, NOW, NOW + lease)
    assert await store.outbox.handover(claim)
    assert await store.outbox.handover(claim), "recording it again (a retried connection) is fine"
    later = NOW + timedelta(seconds=61)
    assert await store.outbox.claim(email.id, later, later + lease) is None, "no resend after a crash"
    assert await store.outbox.claim_due(later, later + lease, 10) == []
    assert await store.outbox.stale(later, later, 10) == []
    assert await store.outbox.claim_handovers(NOW, NOW + lease, 10) == [], "its worker may still be at it"
    (settle,) = await store.outbox.claim_handovers(later, later + lease, 10)
    assert settle.email.id == email.id and settle.attempt == claim.attempt + 1
    assert await store.outbox.claim_handovers(later, later + lease, 10) == [], "one settler at a time"
    assert not await store.outbox.finish(claim, claim.email, []), "the stopped worker's claim is void"
    settle.email.record(EventType.UNCERTAIN, later)
    assert await store.outbox.finish(settle, settle.email, [Event(EventType.UNCERTAIN, later)])
    assert (await store.emails.get("prj_a", email.id)).status is EmailStatus.UNCERTAIN
    much_later = later + timedelta(days=1)
    assert await store.outbox.claim_handovers(much_later, much_later + lease, 10) == []
    assert await store.outbox.claim(email.id, much_later, much_later + lease) is None, "held: nobody takes it"

    # Sent again (the project's policy, or the operator): the same row, the same Message-ID.
    assert not await store.outbox.reopen("prj_b", email.id, much_later), "another project's"
    assert await store.outbox.reopen("prj_a", email.id, much_later)
    assert not await store.outbox.reopen("prj_a", email.id, much_later), "already on its way"
    again = await store.outbox.claim(email.id, much_later, much_later + lease)
    assert again is not None and again.email.message_id == email.message_id
    again.email.record(EventType.SENT, much_later)
    assert await store.outbox.finish(again, again.email, [Event(EventType.SENT, much_later)])
    assert (await store.emails.get("prj_a", email.id)).status is EmailStatus.SENT
    assert not await store.outbox.reopen("prj_a", email.id, much_later), "only uncertain mail is reopened"

    # A live worker finishes (or retries) after its own hand-over as usual.
    other = await add(store, new_email())
    claim = await store.outbox.claim(other.id, NOW, NOW + lease)
    assert await store.outbox.handover(claim)
    assert await store.outbox.retry_later(claim, NOW, "451 after the data", Event(EventType.DEFERRED, NOW))
    assert await store.outbox.claim(other.id, NOW, NOW + lease) is not None


async def test_pages_filter_by_status_and_count_the_total(store):
    emails = [await add(store, new_email()) for _ in range(5)]
    await add(store, new_email(project_id="prj_b"))
    claim = await store.outbox.claim(emails[1].id, NOW, NOW + timedelta(seconds=60))
    claim.email.record(EventType.SENT, NOW)
    await store.outbox.finish(claim, claim.email, [])
    page = await store.emails.page("prj_a", CursorRequest(limit=2))
    assert [e.id for e in page.items] == [emails[0].id, emails[1].id] and page.total == 5 and page.has_more
    page = await store.emails.page("prj_a", CursorRequest(limit=10), EmailFilter(EmailStatus.SENT))
    assert [e.id for e in page.items] == [emails[1].id] and page.total == 1 and not page.has_more
    page = await store.emails.page("prj_a", CursorRequest(limit=10, order=Order.DESC, after=emails[3].id))
    assert [e.id for e in page.items] == [emails[2].id, emails[1].id, emails[0].id]
    foreign = await store.emails.page("prj_b", CursorRequest(limit=10, after=emails[0].id))
    assert foreign.items == [] and foreign.total == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    initial=st.integers(0, 30),
    limit=st.integers(1, 7),
    order=st.sampled_from(list(Order)),
    inserts=st.lists(st.integers(0, 3), max_size=12),
)
def test_cursor_walk_has_no_duplicate_or_gap_while_rows_are_inserted(make_storage, initial, limit, order, inserts):
    async def walk() -> None:
        storage = make_storage()
        try:
            await walk_once(storage)
        finally:
            await storage.close()

    async def walk_once(storage) -> None:
        before = [await add(storage, new_email(project_id=project)) for _ in range(initial)]
        seen: list[str] = []
        after = None
        step = 0
        while True:
            page = await storage.emails.page(project, CursorRequest(limit=limit, order=order, after=after))
            seen.extend(e.id for e in page.items)
            for _ in range(inserts[step] if step < len(inserts) else 0):
                await add(storage, new_email(project_id=project))
            step += 1
            if not page.has_more:
                break
            after = page.items[-1].id
        assert len(seen) == len(set(seen)), "duplicate"
        originals = [e.id for e in before]
        assert [i for i in seen if i in set(originals)] == (originals if order is Order.ASC else originals[::-1])

    project = f"prj_walk_{next(_counter)}"
    asyncio.run(walk())


async def test_templates_crud_is_project_scoped(store):
    template = Template("tpl_1", "prj_a", "welcome", "Hi", "<p>x</p>", NOW, NOW, None)
    await store.templates.add(template)
    assert await store.templates.get("prj_a", "tpl_1") == template
    assert await store.templates.get("prj_b", "tpl_1") is None
    template.subject = "Hello"
    await store.templates.update(template)
    assert (await store.templates.get("prj_a", "tpl_1")).subject == "Hello"
    assert not await store.templates.delete("prj_b", "tpl_1")
    assert await store.templates.delete("prj_a", "tpl_1")
    assert await store.templates.list("prj_a") == []


@pytest.mark.parametrize("make_storage", [b for b in BACKENDS if b != "memory"], indirect=True)
def test_claims_are_exclusive_across_connections(make_storage):
    """Several connections (as several processes would have) race for the same 200 rows, one by one
    and in batches."""

    async def seed() -> list[str]:
        store = make_storage()
        try:
            return [(await add(store, new_email())).id for _ in range(200)]
        finally:
            await store.close()

    ids = asyncio.run(seed())
    won: list[list[str]] = [[] for _ in range(4)]

    def racer(slot: int) -> None:
        async def run() -> None:
            store = make_storage()
            try:
                for email_id in ids[:100]:
                    if await store.outbox.claim(email_id, NOW, NOW + timedelta(seconds=60)):
                        won[slot].append(email_id)
                while claims := await store.outbox.claim_due(NOW, NOW + timedelta(seconds=60), 7):
                    won[slot].extend(c.email.id for c in claims)
            finally:
                await store.close()

        asyncio.run(run())

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [i for w in won for i in w]
    assert sorted(claimed) == sorted(ids)


async def test_claim_due_takes_due_rows_oldest_first_and_never_twice(store):
    later = await add(store, new_email(scheduled_at=NOW + timedelta(minutes=1)))
    first = await add(store, new_email())
    second = await add(store, new_email())
    lease = NOW + timedelta(seconds=60)
    claims = await store.outbox.claim_due(NOW, lease, 10)
    assert [c.email.id for c in claims] == [first.id, second.id] and all(c.attempt == 1 for c in claims)
    assert await store.outbox.claim_due(NOW, lease, 10) == []
    at = NOW + timedelta(minutes=1)
    assert [c.email.id for c in await store.outbox.claim_due(at, at + timedelta(seconds=60), 10)] == [later.id]


async def test_concurrent_adds_are_each_answered_and_a_failing_one_fails_alone(store):
    """Adds that arrive together share a transaction (SQLite's and PostgreSQL's group commit); a
    duplicate id or a NUL (which PostgreSQL cannot hold) fails only its own add, and every other is
    stored whole, found by the log's search like any email."""
    from autorelay_core.errors import Invalid

    first = new_email()
    await add(store, first)
    batch = [new_email(subject=f"Batch number {n}") for n in range(6)]
    nul = new_email(subject="a\x00b")
    results = await asyncio.gather(
        *(add(store, e) for e in batch[:2]),
        add(store, first),
        *(add(store, e) for e in batch[2:4]),
        add(store, nul),
        *(add(store, e) for e in batch[4:]),
        return_exceptions=True,
    )
    failed = [isinstance(r, Exception) for r in results]
    assert failed[:6] == [False, False, True, False, False, isinstance(results[5], Invalid)]
    assert failed[6:] == [False, False]
    for email in [first, *batch]:
        assert await store.emails.get("prj_a", email.id) == email
        assert len(await store.emails.events(email.id)) == 1, "a failed write left no event behind"
    found = await store.emails.page("prj_a", CursorRequest(limit=100), EmailFilter(words="batch number"))
    assert sorted(e.id for e in found.items) == sorted(e.id for e in batch)


async def test_idempotency_claims_are_exclusive_and_remember_answers(store):
    from autorelay_core.policies.idempotency import StoredResponse

    assert await store.idempotency.claim("prj", "k", "f1", NOW) is None
    held = await store.idempotency.claim("prj", "k", "f1", NOW)
    assert held is not None and held.fingerprint == "f1" and held.response is None
    answer = StoredResponse(201, "application/json", b'{"id":"x"}')
    await store.idempotency.complete("prj", "k", answer)
    assert (await store.idempotency.claim("prj", "k", "f2", NOW)).response == answer
    assert await store.idempotency.claim("other", "k", "f1", NOW) is None
    await store.idempotency.release("prj", "k")
    assert await store.idempotency.claim("prj", "k", "f3", NOW) is None


async def test_charges_never_overshoot_under_concurrency(store):
    from autorelay_core.errors import QuotaExceeded
    from autorelay_core.policies.quota import Charge

    charge = (Charge("emails", "2026-05", 5),)
    emails = [new_email() for _ in range(20)]
    results = await asyncio.gather(
        *(store.emails.add(e, [Event(EventType.QUEUED, NOW)], charge) for e in emails), return_exceptions=True
    )
    assert sum(r is None for r in results) == 5
    assert all(isinstance(r, QuotaExceeded) for r in results if r is not None)
    assert await store.quota.usage("prj_a", "emails", "2026-05") == 5
    assert (await store.emails.page("prj_a", CursorRequest(limit=100))).total == 5


async def test_text_with_nul_is_refused_cleanly_and_stores_nothing(store):
    """SQLite can hold NUL; PostgreSQL cannot. Either way nothing half-written remains."""
    from autorelay_core.errors import Invalid

    email = new_email(subject="a\x00b")
    try:
        await add(store, email)
    except Invalid as error:
        assert "NUL" in str(error)
        assert await store.emails.get("prj_a", email.id) is None
        assert await store.emails.events(email.id) == []
    else:
        assert (await store.emails.get("prj_a", email.id)).subject == "a\x00b"


async def test_domains_round_trip_with_their_dkim_and_are_project_scoped(store):
    from autorelay_core.domain.domains import Domain, DomainStatus

    own = Domain(
        "dom_1", "prj_a", "mail.acme.test", NOW, dkim_selector="ar1", dkim_public_key="PUB", dkim_private_key="sealed"
    )
    ses = Domain("dom_2", "prj_a", "ses.acme.test", NOW, dkim_tokens=("t1", "t2", "t3"))
    await store.domains.add(own)
    await store.domains.add(ses)
    with pytest.raises(Conflict):
        await store.domains.add(Domain("dom_3", "prj_a", "mail.acme.test", NOW))
    assert await store.domains.get("prj_a", "dom_1") == own
    assert await store.domains.get_by_name("prj_a", "SES.acme.test") == ses
    assert await store.domains.get("prj_b", "dom_1") is None
    assert [d.id for d in await store.domains.all("prj_a")] == ["dom_1", "dom_2"]
    own.status, own.verified_at = DomainStatus.VERIFIED, NOW
    await store.domains.update(own)
    assert (await store.domains.get("prj_a", "dom_1")).status is DomainStatus.VERIFIED
    assert not await store.domains.delete("prj_b", "dom_1")
    assert await store.domains.delete("prj_a", "dom_1")
    assert await store.domains.count("prj_a") == 1


async def test_pages_filter_live_or_test_and_daily_counts_plot_the_events(store):
    live = await add(store, new_email())
    test = await add(store, new_email(test=True))
    assert [
        e.id for e in (await store.emails.page("prj_a", CursorRequest(limit=10), EmailFilter(test=True))).items
    ] == [test.id]
    page = await store.emails.page("prj_a", CursorRequest(limit=10), EmailFilter(test=False))
    assert [e.id for e in page.items] == [live.id] and page.total == 1
    claim = await store.outbox.claim(live.id, NOW, NOW + timedelta(seconds=60))
    later = NOW + timedelta(days=1)
    claim.email.record(EventType.SENT, later)
    await store.outbox.finish(claim, claim.email, [Event(EventType.SENT, later)])
    day, next_day = NOW.strftime("%Y-%m-%d"), later.strftime("%Y-%m-%d")
    assert await store.activity.daily("prj_a", NOW - timedelta(days=30)) == [
        (day, "queued", 2),
        (next_day, "sent", 1),
    ]
    assert await store.activity.daily("prj_b", NOW - timedelta(days=30)) == []
    assert await store.activity.daily("prj_a", NOW + timedelta(hours=1)) == [(next_day, "sent", 1)]


async def test_a_key_remembers_when_it_was_last_used(store):
    await store.projects.add(Project("prj_a", "acme", NOW))
    key = ApiKey("key_1", "prj_a", "k", KeyMode.LIVE, "h" * 64, "abcd", ("full",), NOW)
    await store.keys.add(key)
    await store.keys.touch("key_1", NOW + timedelta(minutes=3))
    (listed,) = await store.keys.list("prj_a")
    assert listed.last_used_at == NOW + timedelta(minutes=3)
    assert (await store.keys.get_by_hash("h" * 64)).last_used_at == NOW + timedelta(minutes=3)


async def test_pages_filter_by_first_recipient_and_by_date(store):
    early = await add(store, new_email(to=("Ana@Example.com", "x@example.com"), created_at=NOW))
    late = await add(store, new_email(to=("ana@example.com",), created_at=NOW + timedelta(days=2)))
    await add(store, new_email(to=("bob@example.com",), created_at=NOW + timedelta(days=2)))
    found = await store.emails.page("prj_a", CursorRequest(limit=10), EmailFilter(recipient="ANA@example.com"))
    assert [e.id for e in found.items] == [early.id, late.id] and found.total == 2
    found = await store.emails.page("prj_a", CursorRequest(limit=10), EmailFilter(recipient="x@example.com"))
    assert found.items == [], "the first recipient only"
    after = await store.emails.page("prj_a", CursorRequest(limit=10), EmailFilter(since=NOW + timedelta(days=1)))
    assert after.items[0].id == late.id and after.total == 2
    before = await store.emails.page("prj_a", CursorRequest(limit=10), EmailFilter(until=NOW + timedelta(days=1)))
    assert [e.id for e in before.items] == [early.id] and before.total == 1
    both = await store.emails.page(
        "prj_a",
        CursorRequest(limit=10, order=Order.DESC),
        EmailFilter(recipient="ana@example.com", since=NOW + timedelta(hours=1)),
    )
    assert [e.id for e in both.items] == [late.id]
    assert (
        await store.emails.page("prj_a", CursorRequest(limit=10), EmailFilter(since=NOW + timedelta(days=9)))
    ).items == []


async def test_the_log_finds_mail_by_words_of_its_subject_addresses_and_tags(store):
    welcome = await add(store, new_email(subject="Welcome to Café Acme", to=("Zoë.Smith@example.com",)))
    invoice = await add(store, new_email(subject="Your invoice #1024", tags={"kind": "billing", "plan": "pro"}))
    added = await store.emails.add_many(  # campaign mail is written in batches
        [
            new_email(subject="Spring news", cc=("press@acme.test",), campaign_id="cmp_1", contact_id="ct_1"),
            new_email(subject="Welcome back", campaign_id="cmp_1", contact_id="ct_2"),
        ],
        [],
    )
    assert added == 2
    await add(store, new_email("prj_b", subject="Welcome from another project"))

    async def found(words: str) -> list[str]:
        page = await store.emails.page("prj_a", CursorRequest(limit=10), EmailFilter(words=words))
        assert page.total == len(page.items)
        return sorted(e.subject for e in page.items)

    assert await found("welcome") == ["Welcome back", "Welcome to Café Acme"], "one project's mail only"
    assert await found("WELC") == ["Welcome back", "Welcome to Café Acme"], "the last word may be a start"
    assert await found("cafe") == ["Welcome to Café Acme"], "accents folded"
    assert await found("zoe.smith@example.com") == ["Welcome to Café Acme"], "an address, as typed"
    assert await found("smith@exa") == ["Welcome to Café Acme"]
    assert await found("billing") == ["Your invoice #1024"], "a tag's value"
    assert await found("plan pro") == ["Your invoice #1024"], "a tag's name and value"
    assert await found("#1024") == ["Your invoice #1024"]
    assert await found("press@acme.test") == ["Spring news"], "a cc of batch-written mail"
    assert await found("welcome cafe") == ["Welcome to Café Acme"], "every term must match"
    assert await found("cafe welcome") == ["Welcome to Café Acme"], "terms in any order"
    assert await found("to welcome") == ["Welcome to Café Acme"]
    assert await found("welcome-to") == ["Welcome to Café Acme"], "one term's words must be in a row"
    assert await found("to-welcome") == []
    assert await found("invoice billing spring") == []
    assert await found('" * ( : & | ! <-> -') == sorted(  # nothing but punctuation: no search at all
        [welcome.subject, invoice.subject, "Spring news", "Welcome back"]
    )
    assert await found('"welcome*"') == ["Welcome back", "Welcome to Café Acme"], "quotes and stars are not syntax"
    assert await found("welcome OR NEAR(invoice)") == [], "operators are words like any other"


async def test_a_search_counts_its_matches_only_up_to_a_limit_and_still_pages_them_all(store, monkeypatch):
    import adapters.storage.memory.emails
    import adapters.storage.sqlite.emails

    modules = [adapters.storage.memory.emails, adapters.storage.sqlite.emails]
    if backends.POSTGRES_URL:
        import adapters.storage.postgres.emails

        modules.append(adapters.storage.postgres.emails)
    for module in modules:  # a limit of 3 stands for the real one (10,000)
        monkeypatch.setattr(module, "SEARCH_COUNTED", 3)
    added = [await add(store, new_email(subject=f"Weekly digest {n}")) for n in range(5)]
    await add(store, new_email(subject="Something else"))
    first = await store.emails.page("prj_a", CursorRequest(limit=2, order=Order.DESC), EmailFilter(words="digest"))
    assert first.total == 4, "counted up to the limit and one more: more than 3"
    assert [e.id for e in first.items] == [added[4].id, added[3].id] and first.has_more
    rest = await store.emails.page(
        "prj_a", CursorRequest(limit=10, order=Order.DESC, after=added[3].id), EmailFilter(words="digest")
    )
    assert [e.id for e in rest.items] == [added[2].id, added[1].id, added[0].id] and not rest.has_more
    assert (await store.emails.page("prj_a", CursorRequest(limit=10), EmailFilter())).total == 6, "no search: exact"


async def test_every_template_save_keeps_a_version_and_old_ones_are_dropped(store):
    from autorelay_core.domain.templates import KEPT_VERSIONS

    template = Template("tpl_v", "prj_a", "welcome", "Hi", "<p>one</p>", NOW, NOW, None)
    await store.templates.add(template)
    template.html, template.text = "<p>two</p>", "two"
    await store.templates.update(template)
    kept = await store.templates.versions("prj_a", "tpl_v")
    assert [(v.number, v.html, v.text) for v in kept] == [(2, "<p>two</p>", "two"), (1, "<p>one</p>", None)]
    assert await store.templates.versions("prj_b", "tpl_v") == []

    for n in range(KEPT_VERSIONS + 3):
        template.html = f"<p>{n}</p>"
        await store.templates.update(template)
    kept = await store.templates.versions("prj_a", "tpl_v")
    assert len(kept) == KEPT_VERSIONS
    assert kept[0].number == KEPT_VERSIONS + 5 and kept[0].html == f"<p>{KEPT_VERSIONS + 2}</p>"
    assert (await store.templates.get("prj_a", "tpl_v")).html == kept[0].html

    assert await store.templates.delete("prj_a", "tpl_v")
    await store.templates.add(Template("tpl_v", "prj_a", "again", "Hi", "<p>new</p>", NOW, NOW, None))
    assert [v.number for v in await store.templates.versions("prj_a", "tpl_v")] == [1]


async def test_a_campaigns_timeline_and_most_clicked_links(store):
    from datetime import timedelta

    later = NOW + timedelta(minutes=3)
    emails = [new_email(campaign_id="cmp_t", contact_id=f"con_{n}") for n in range(3)]
    await store.emails.add_many(emails, [Event(EventType.QUEUED, NOW)], ())  # as a launch stores them
    await add(store, new_email())  # not the campaign's
    for n, email in enumerate(emails):
        sent = await store.emails.get("prj_a", email.id)
        events = [sent.record(EventType.SENT, NOW)]
        await store.emails.record(sent, events)
        clicked = await store.emails.get("prj_a", email.id)
        clicks = [clicked.record(EventType.CLICKED, later, url="https://a.example/")]
        if n == 0:
            clicks.append(clicked.record(EventType.CLICKED, later, url="https://b.example/"))
        await store.emails.record(clicked, clicks)
    timeline = await store.campaign_mail.timeline("cmp_t")
    minute = NOW.strftime("%Y-%m-%dT%H:%M")
    assert (minute, "sent", 3) in timeline and (later.strftime("%Y-%m-%dT%H:%M"), "clicked", 4) in timeline
    assert [row[0] for row in timeline] == sorted(row[0] for row in timeline)
    assert await store.campaign_mail.links("cmp_t", 10) == [("https://a.example/", 3), ("https://b.example/", 1)]
    assert await store.campaign_mail.links("cmp_t", 1) == [("https://a.example/", 3)]
    assert await store.campaign_mail.timeline("cmp_other") == []


async def test_the_outbox_backlog_counts_what_is_due_and_how_old(store):
    from datetime import timedelta

    assert await store.outbox.backlog(NOW) == (0, None)
    await add(store, new_email())
    await add(store, new_email(scheduled_at=NOW + timedelta(hours=1)))  # not due yet
    leased = await add(store, new_email())
    await store.outbox.claim(leased.id, NOW, NOW + timedelta(minutes=1))
    count, oldest = await store.outbox.backlog(NOW + timedelta(seconds=30))
    assert count == 1 and oldest is not None and abs((oldest - NOW).total_seconds()) < 1
    assert await store.webhooks.backlog(NOW) == 0


async def test_the_next_due_time_is_the_earliest_pending_rows_leased_and_done_rows_aside(store):
    from datetime import timedelta

    assert await store.outbox.next_due() is None
    await add(store, new_email(scheduled_at=NOW + timedelta(hours=1)))
    assert abs((await store.outbox.next_due() - (NOW + timedelta(hours=1))).total_seconds()) < 1
    sooner = await add(store, new_email(scheduled_at=NOW + timedelta(minutes=5)))
    assert abs((await store.outbox.next_due() - (NOW + timedelta(minutes=5))).total_seconds()) < 1
    await store.outbox.claim(sooner.id, NOW + timedelta(minutes=6), NOW + timedelta(minutes=7))
    assert abs((await store.outbox.next_due() - (NOW + timedelta(hours=1))).total_seconds()) < 1


async def test_the_leases_of_a_holder_that_fell_silent_end_at_once(store):
    from datetime import timedelta

    later, lease = NOW + timedelta(seconds=10), NOW + timedelta(minutes=1)
    gone, alive = await add(store, new_email()), await add(store, new_email())
    handed, anonymous = await add(store, new_email()), await add(store, new_email())
    await store.outbox.beat("gone", NOW)
    await store.outbox.beat("alive", NOW)
    claims = {}
    for email, holder in ((gone, "gone"), (alive, "alive"), (handed, "gone"), (anonymous, "")):
        claims[email.id] = await store.outbox.claim(email.id, NOW, lease, holder)
    assert await store.outbox.handover(claims[handed.id])
    await store.outbox.beat("alive", later)  # "gone" beat last at NOW
    freed = await store.outbox.free_silent(later, later - timedelta(seconds=3))
    assert freed == 2, "the silent holder's leased row and its row in hand-over"
    assert await store.outbox.free_silent(later, later - timedelta(seconds=3)) == 0
    assert await store.outbox.stale(later, NOW - timedelta(hours=1), 10) == [gone.id]
    (settled,) = await store.outbox.claim_handovers(later, later + timedelta(minutes=1), 10, "alive")
    assert settled.email.id == handed.id
    assert await store.outbox.claim(alive.id, later, lease) is None, "a live holder keeps its lease"
    assert await store.outbox.claim(anonymous.id, later, lease) is None, "no holder: the lease runs its course"
    assert not await store.outbox.finish(claims[gone.id], gone, []), "the silent holder's claim is void"

"""Storage contract for the reads that had none: an email by its provider's id, the reputation
window's activity counts, and the per-project rate-limit overrides, over every storage adapter."""

from __future__ import annotations

from datetime import timedelta

from attrs import evolve

from autorelay_core.domain.emails import EmailStatus, Event, EventType
from autorelay_core.policies.rate_limit import Limit
from tests.contract.test_storage import NOW, add, new_email


async def _sent(store, email, provider_id: str, at=NOW):
    claim = await store.outbox.claim(email.id, at, at + timedelta(minutes=5))
    assert claim is not None
    done = evolve(claim.email, status=EmailStatus.SENT, provider_message_id=provider_id)
    assert await store.outbox.finish(claim, done, [Event(EventType.SENT, at)])
    return done


async def test_an_email_is_found_by_the_id_its_provider_gave_it_in_any_project(store):
    first = await _sent(store, await add(store, new_email("prj_a")), "0100018f-aaaa")
    second = await _sent(store, await add(store, new_email("prj_b")), "<q1@smtp.example>")
    assert await store.emails.by_provider_id("0100018f-aaaa") == first
    assert await store.emails.by_provider_id("<q1@smtp.example>") == second
    assert await store.emails.by_provider_id("0100018f-bbbb") is None
    assert await store.emails.by_provider_id("") is None


async def test_activity_counts_live_sends_bounces_and_complaints_since_a_time(store):
    live = [await _sent(store, await add(store, new_email("prj_a")), f"p{n}") for n in range(4)]
    sandboxed = await _sent(store, await add(store, new_email("prj_a", test=True)), "t1")
    await _sent(store, await add(store, new_email("prj_b")), "other-project")
    later = NOW + timedelta(hours=1)
    assert await store.emails.record(evolve(live[0], status=EmailStatus.BOUNCED), [Event(EventType.BOUNCED, later)])
    assert await store.emails.record(
        evolve(live[1], status=EmailStatus.COMPLAINED), [Event(EventType.COMPLAINED, later)]
    )
    assert await store.emails.record(evolve(sandboxed, status=EmailStatus.BOUNCED), [Event(EventType.BOUNCED, later)])
    counted = await store.activity.activity("prj_a", NOW)
    assert (counted.sends, counted.bounces, counted.complaints) == (4, 1, 1)  # the test email is not counted
    recent = await store.activity.activity("prj_a", NOW + timedelta(minutes=30))
    assert (recent.sends, recent.bounces, recent.complaints) == (0, 1, 1)  # by event time
    nothing = await store.activity.activity("prj_none", NOW)
    assert (nothing.sends, nothing.bounces, nothing.complaints) == (0, 0, 0)


async def test_rate_limit_overrides_are_kept_per_project_and_operation(store):
    assert await store.limits.get("prj_a") == {}
    await store.limits.set("prj_a", "emails.send", Limit(1000, 60))
    await store.limits.set("prj_a", "contacts.import", Limit(50, 3600))
    await store.limits.set("prj_b", "emails.send", Limit(5, 60))
    await store.limits.set("prj_a", "emails.send", Limit(2000, 60))  # replaces
    assert await store.limits.get("prj_a") == {"emails.send": Limit(2000, 60), "contacts.import": Limit(50, 3600)}
    assert await store.limits.get("prj_b") == {"emails.send": Limit(5, 60)}
    assert await store.limits.clear("prj_a", "contacts.import")
    assert not await store.limits.clear("prj_a", "contacts.import")
    assert await store.limits.get("prj_a") == {"emails.send": Limit(2000, 60)}

"""Engagement and feedback recorded by racing writers, over every storage adapter: the write is a
compare-and-set on status and counters, so no count is lost and the status never moves back."""

from __future__ import annotations

import asyncio

from attrs import evolve

from autorelay_core.domain.emails import EmailStatus, EventType
from autorelay_core.usecases.record_events import record_event
from tests.contract.test_storage import NOW, add, new_email
from tests.support import ManualQueue, make_deps


async def _sent(store):
    email = await add(store, new_email())
    claim = await store.outbox.claim(email.id, NOW, NOW)
    done = claim.email
    event = done.record(EventType.SENT, NOW)
    assert await store.outbox.finish(claim, done, [event])
    return await store.emails.get("prj_a", email.id)


async def test_a_write_from_a_stale_read_is_refused_and_stores_nothing(store):
    email = await _sent(store)
    opened = evolve(email)
    event = opened.record(EventType.OPENED, NOW)
    assert await store.emails.record(opened, [event], since=email)
    clicked = evolve(email)  # made from the read before the open
    late = clicked.record(EventType.CLICKED, NOW)
    assert not await store.emails.record(clicked, [late], since=email)
    stored = await store.emails.get("prj_a", email.id)
    assert (stored.status, stored.opens, stored.clicks) == (EmailStatus.OPENED, 1, 0)
    assert [e.type for e in await store.emails.events(email.id)][-1] is EventType.OPENED


async def test_racing_opens_and_clicks_all_count_and_end_clicked(store):
    deps = make_deps(store, queue=ManualQueue())
    email = await _sent(store)
    kinds = [EventType.OPENED, EventType.CLICKED] * 10
    await asyncio.gather(*(record_event(deps, email, kind) for kind in kinds))
    stored = await store.emails.get("prj_a", email.id)
    assert (stored.status, stored.opens, stored.clicks) == (EmailStatus.CLICKED, 10, 10)
    events = [e.type for e in await store.emails.events(email.id)]
    assert events.count(EventType.OPENED) == 10 and events.count(EventType.CLICKED) == 10

"""The webhook repository and its fan-out from email events, over every storage adapter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from attrs import evolve

from autorelay_core.domain.emails import Event, EventType
from autorelay_core.domain.webhooks import DeliveryState, Notice, Webhook
from tests.contract.test_storage import NOW, add, new_email

LEASE = NOW + timedelta(seconds=60)


def hook(hook_id: str, project_id: str = "prj_a", events=("email.sent",), active=True) -> Webhook:
    return Webhook(hook_id, project_id, f"https://{hook_id}.example.com/", tuple(events), "sealed", NOW, active)


def notice(event_id: str, kind: str = "email.sent", at=NOW) -> Notice:
    return Notice(event_id, kind, lambda: f'{{"id":"{event_id}","type":"{kind}"}}', at)


async def sent(store, email, *notices: Notice) -> bool:
    claim = await store.outbox.claim(email.id, NOW, LEASE)
    done = claim.email
    event = done.record(EventType.SENT, NOW)
    return await store.outbox.finish(claim, done, [event], notices)


async def test_endpoints_round_trip_and_stay_in_their_project(store):
    await store.webhooks.add(hook("whk_1", events=("email.opened", "email.clicked")))
    await store.webhooks.add(hook("whk_2"))
    await store.webhooks.add(hook("whk_3", project_id="prj_b"))
    assert [w.id for w in await store.webhooks.list("prj_a")] == ["whk_1", "whk_2"]
    got = await store.webhooks.get("prj_a", "whk_1")
    assert got == hook("whk_1", events=("email.opened", "email.clicked"))
    assert await store.webhooks.get("prj_b", "whk_1") is None
    got.url, got.events = "https://new.example.com/x", ("email.failed",)
    await store.webhooks.update(got)
    assert await store.webhooks.get("prj_a", "whk_1") == got
    assert not await store.webhooks.delete("prj_b", "whk_1")
    assert await store.webhooks.delete("prj_a", "whk_1")
    assert await store.webhooks.get("prj_a", "whk_1") is None


async def test_a_finished_email_fans_out_to_active_subscribed_endpoints_of_its_project_only(store):
    await store.webhooks.add(hook("whk_sent"))
    await store.webhooks.add(hook("whk_other_event", events=("email.bounced",)))
    await store.webhooks.add(hook("whk_paused", active=False))
    await store.webhooks.add(hook("whk_other_project", project_id="prj_b"))
    email = await add(store, new_email())
    assert await sent(store, email, notice("evt_1"))
    claims = await store.webhooks.claim_due(NOW, LEASE, 10)
    assert [(c.delivery.webhook_id, c.delivery.event_id) for c in claims] == [("whk_sent", "evt_1")]
    (claim,) = claims
    assert claim.url == "https://whk_sent.example.com/" and claim.secret == "sealed"
    assert claim.delivery.body == '{"id":"evt_1","type":"email.sent"}' and claim.delivery.attempts == 1
    assert claim.delivery.id.startswith("whd_") and claim.delivery.state is DeliveryState.LEASED


async def test_a_test_mode_endpoint_hears_only_of_test_mail_and_a_live_one_of_both(store):
    await store.webhooks.add(hook("whk_live"))
    await store.webhooks.add(evolve(hook("whk_test"), test=True))
    assert (await store.webhooks.get("prj_a", "whk_test")).test
    live, test = await add(store, new_email()), await add(store, new_email(test=True))
    assert await sent(store, live, evolve(notice("evt_live"), live=True))
    assert await sent(store, test, evolve(notice("evt_test"), live=False))
    heard = {(c.delivery.webhook_id, c.delivery.event_id) for c in await store.webhooks.claim_due(NOW, LEASE, 10)}
    assert heard == {("whk_live", "evt_live"), ("whk_live", "evt_test"), ("whk_test", "evt_test")}


async def test_a_notice_nobody_subscribes_to_is_never_serialised(store, request):
    if request.node.callspec.params["make_storage"] == "postgres":
        pytest.skip("PostgreSQL fans out in the statement itself: one round trip, the payload with it")
    rendered: list[str] = []

    def payload(event_id: str) -> Notice:
        return Notice(event_id, "email.sent", lambda: rendered.append(event_id) or "{}", NOW)

    await store.webhooks.add(hook("whk_bounces", events=("email.bounced",)))
    assert await sent(store, await add(store, new_email()), payload("evt_nobody"))
    await store.webhooks.add(hook("whk_sent"))
    assert await sent(store, await add(store, new_email()), payload("evt_wanted"))
    assert rendered == ["evt_wanted"]
    assert [c.delivery.event_id for c in await store.webhooks.claim_due(NOW, LEASE, 10)] == ["evt_wanted"]


async def test_a_finish_that_lost_its_lease_makes_no_delivery(store):
    await store.webhooks.add(hook("whk_1"))
    email = await add(store, new_email())
    first = await store.outbox.claim(email.id, NOW, LEASE)
    later = LEASE + timedelta(seconds=1)
    await store.outbox.claim(email.id, later, later + timedelta(seconds=60))
    assert not await store.outbox.finish(first, first.email, [Event(EventType.SENT, NOW)], (notice("evt_1"),))
    assert await store.webhooks.claim_due(later, later, 10) == []


async def test_record_fans_out_too_and_only_for_an_email_of_the_project(store):
    await store.webhooks.add(hook("whk_1", events=("email.opened",)))
    email = await add(store, new_email())
    await sent(store, email)
    opened = await store.emails.get("prj_a", email.id)
    event = opened.record(EventType.OPENED, NOW)
    assert await store.emails.record(opened, [event], (notice("evt_2", "email.opened"),))
    assert not await store.emails.record(
        evolve(opened, project_id="prj_b"), [event], (notice("evt_3", "email.opened"),)
    )
    assert [c.delivery.event_id for c in await store.webhooks.claim_due(NOW, LEASE, 10)] == ["evt_2"]


async def test_claims_are_disjoint_due_ordered_and_a_lost_lease_cannot_settle(store):
    await store.webhooks.add(hook("whk_1"))
    for n in range(3):
        await sent(store, await add(store, new_email()), notice(f"evt_{n}", at=NOW + timedelta(seconds=n)))
    later = NOW + timedelta(seconds=10)
    first = await store.webhooks.claim_due(later, later + timedelta(seconds=60), 2)
    second = await store.webhooks.claim_due(later, later + timedelta(seconds=60), 2)
    assert [c.delivery.event_id for c in first] == ["evt_0", "evt_1"]
    assert [c.delivery.event_id for c in second] == ["evt_2"]
    expired = later + timedelta(seconds=61)
    (again,) = [c for c in await store.webhooks.claim_due(expired, expired + timedelta(seconds=60), 1)]
    assert again.delivery.attempts == 2
    stale = next(c for c in first if c.delivery.id == again.delivery.id)
    done = evolve(again.delivery, state=DeliveryState.SUCCEEDED, last_attempt_at=expired)
    assert not await store.webhooks.settle(stale, done)
    assert await store.webhooks.settle(again, done)
    assert not await store.webhooks.settle(again, done)  # settled once


async def test_failures_retries_pause_replay_and_next_due(store):
    await store.webhooks.add(hook("whk_1"))
    await sent(store, await add(store, new_email()), notice("evt_1"))
    assert await store.webhooks.next_due() == NOW
    (claim,) = await store.webhooks.claim_due(NOW, LEASE, 10)
    assert await store.webhooks.next_due() == LEASE
    retry_at = NOW + timedelta(seconds=5)
    failed = evolve(
        claim.delivery, state=DeliveryState.PENDING, failures=1, error="HTTP 500", last_attempt_at=NOW, due_at=retry_at
    )
    assert await store.webhooks.settle(claim, failed)
    (listed,), more = await store.webhooks.failures("prj_a", "whk_1", 10)
    assert not more and listed.error == "HTTP 500" and listed.due_at == retry_at and listed.attempts == 1
    assert await store.webhooks.failures("prj_b", "whk_1", 10) == ([], False)
    assert await store.webhooks.claim_due(NOW + timedelta(seconds=4), LEASE, 10) == []
    assert await store.webhooks.next_due() == retry_at
    await store.webhooks.update(evolve(await store.webhooks.get("prj_a", "whk_1"), active=False))
    (paused,), _ = await store.webhooks.failures("prj_a", "whk_1", 10)
    assert paused.state is DeliveryState.FAILED and "paused" in paused.error and paused.due_at is None
    assert await store.webhooks.next_due() is None
    await store.webhooks.update(evolve(await store.webhooks.get("prj_a", "whk_1"), active=True))
    replayed = await store.webhooks.replay("prj_a", "whk_1", paused.id, retry_at)
    assert replayed.state is DeliveryState.PENDING and replayed.replay_count == 1 and replayed.failures == 0
    assert await store.webhooks.replay("prj_a", "whk_2", paused.id, retry_at) is None
    (claim,) = await store.webhooks.claim_due(retry_at, retry_at + timedelta(seconds=60), 10)
    assert (await store.webhooks.replay("prj_a", "whk_1", paused.id, retry_at)).state is DeliveryState.LEASED
    resolved = evolve(claim.delivery, state=DeliveryState.SUCCEEDED, resolved_at=retry_at, due_at=None)
    assert await store.webhooks.settle(claim, resolved)
    (listed,), _ = await store.webhooks.failures("prj_a", "whk_1", 10)
    assert listed.state is DeliveryState.SUCCEEDED and listed.resolved_at == retry_at and listed.attempts == 2


async def test_deleting_an_endpoint_drops_its_deliveries(store):
    await store.webhooks.add(hook("whk_1"))
    await sent(store, await add(store, new_email()), notice("evt_1"))
    (claim,) = await store.webhooks.claim_due(NOW, LEASE, 10)
    assert await store.webhooks.delete("prj_a", "whk_1")
    assert not await store.webhooks.settle(claim, evolve(claim.delivery, state=DeliveryState.SUCCEEDED))
    assert await store.webhooks.next_due() is None


async def test_tracking_settings_round_trip(store):
    from autorelay_core.domain.projects import Project

    await store.projects.add(Project("prj_t", "tracked", NOW))
    assert (await store.projects.get("prj_t")).track_opens
    await store.projects.set_tracking("prj_t", opens=False, clicks=True)
    project = await store.projects.get("prj_t")
    assert not project.track_opens and project.track_clicks


async def test_a_test_delivery_its_attempts_and_the_recent_log(store):
    from autorelay_core.domain.webhooks import WebhookDelivery

    await store.webhooks.add(hook("whk_1"))
    await store.webhooks.add(hook("whk_b", project_id="prj_b"))
    for n in range(3):
        await store.webhooks.add_delivery(
            WebhookDelivery(f"whd_{n}", "whk_1", "prj_a", f"evt_{n}", "email.sent", f'{{"n":{n}}}', NOW)
        )
    (claim, *_) = await store.webhooks.claim_due(NOW, LEASE, 1)
    first = evolve(claim.delivery, state=DeliveryState.PENDING, failures=1, error="HTTP 500", last_attempt_at=NOW)
    first.due_at = NOW
    assert await store.webhooks.settle(claim, first)
    (again,) = [c for c in await store.webhooks.claim_due(NOW, LEASE, 10) if c.delivery.id == claim.delivery.id]
    done = evolve(again.delivery, state=DeliveryState.SUCCEEDED, failures=0, last_attempt_at=LEASE, due_at=None)
    done.answer = 'HTTP 200: {"ok": true}'  # what the endpoint said when it took the event
    assert await store.webhooks.settle(again, done)
    # A settle whose lease was lost keeps no attempt.
    assert not await store.webhooks.settle(again, done)

    attempts = await store.webhooks.attempts("prj_a", claim.delivery.id)
    assert [(a.number, a.ok, a.detail) for a in attempts] == [
        (1, False, "HTTP 500"),
        (2, True, 'HTTP 200: {"ok": true}'),
    ]
    assert attempts[0].at == NOW and attempts[1].at == LEASE
    assert await store.webhooks.attempts("prj_b", claim.delivery.id) == []

    newest, more = await store.webhooks.recent("prj_a", "whk_1", 2)
    assert [d.id for d in newest] == ["whd_2", "whd_1"] and more
    older, more = await store.webhooks.recent("prj_a", "whk_1", 2, before="whd_1")
    assert [d.id for d in older] == ["whd_0"] and not more
    assert await store.webhooks.recent("prj_b", "whk_1", 10) == ([], False)

    assert await store.webhooks.delete("prj_a", "whk_1")
    assert await store.webhooks.attempts("prj_a", claim.delivery.id) == []

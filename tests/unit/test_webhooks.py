"""Webhooks over the memory adapters: registration rules, the payload of each event, the retry
schedule on a fake clock, 410, pausing, deleting and replaying (the poster is a port double here;
tests/e2e/test_webhooks.py posts to a real receiver)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from attrs import evolve

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.users import Role
from autorelay_core.domain.webhooks import RETRY_DELAYS
from autorelay_core.errors import Conflict, Forbidden, Invalid, NotFound
from autorelay_core.usecases import manage_webhooks as uc
from autorelay_core.usecases.deliver_email import drain
from autorelay_core.usecases.provider_feedback import Feedback, apply_feedback
from autorelay_core.usecases.send_email import send_email
from tests.support import ManualQueue, RecordingPoster, make_deps
from tests.unit.test_send_email import command, live_key

HOOK = "https://hooks.example.com/autorelay"


class PublicDns:
    """Every name resolves to one public documentation address, unless told otherwise."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}

    async def txt(self, name):
        return []

    async def cname(self, name):
        return []

    async def addresses(self, name):
        return self.answers.get(name, ["93.184.216.34"])


@pytest.fixture
def dns():
    return PublicDns()


@pytest.fixture
def poster():
    return RecordingPoster()


@pytest.fixture
def deps(clock, mailer, dns, poster):
    built = make_deps(clock=clock, mailer=mailer, queue=ManualQueue())
    return evolve(built, dns=dns, webhook_poster=poster)


async def _hook(deps, key, events=("email.sent",), url=HOOK):
    return await uc.create_webhook(deps, key, uc.WebhookInput(url=url, events=list(events)))


async def test_registration_returns_a_standard_secret_once_and_stores_it_sealed(deps):
    key = await live_key(deps)
    webhook, secret = await _hook(deps, key, ["email.opened", "email.clicked"])
    assert webhook.id.startswith("whk_") and secret.startswith("whsec_") and len(secret) > 40
    stored = await deps.storage.webhooks.get(key.project_id, webhook.id)
    assert secret not in stored.secret and deps.sealer.open(stored.secret) == secret
    assert stored.events == ("email.opened", "email.clicked") and stored.active


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": HOOK, "events": []}, "at least one event"),
        ({"url": HOOK, "events": ["email.sent", "email.read"]}, "unknown event 'email.read'"),
        ({"url": "http://hooks.example.com/", "events": ["email.sent"]}, "https://"),
        ({"url": "https://user:pw@hooks.example.com/", "events": ["email.sent"]}, "credentials"),
        ({"url": None, "events": ["email.sent"]}, "url is required"),
    ],
)
async def test_registration_names_what_is_wrong(deps, fields, message):
    key = await live_key(deps)
    with pytest.raises(Invalid, match=message):
        await uc.create_webhook(deps, key, uc.WebhookInput(**fields))
    assert await deps.storage.webhooks.list(key.project_id) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://10.0.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/",
        "https://[fc00::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://2130706433/",
        "https://0x7f.1/",
        "https://0177.0.0.1/",
        "https://localhost/",
        "https://192.168.1.10:8443/x",
        "https://100.100.100.200/",
        "https://[fe80::1]/",
        "https://0.0.0.0/",
        "https://[64:ff9b::7f00:1]/",
        "https://[2002:7f00:1::]/",
        "https://[fec0::1]/",
        "https://[feff:ffff::1]/",
    ],
)
async def test_addresses_inside_the_network_are_refused_in_every_encoding(deps, url):
    key = await live_key(deps)
    refused = r"a (loopback|private|link-local|unique-local|site-local|cloud metadata|unspecified)"
    with pytest.raises(Invalid, match=refused):
        await _hook(deps, key, url=url)


async def test_a_host_resolving_to_loopback_is_refused_and_one_not_resolving_yet_accepted(deps, dns):
    key = await live_key(deps)
    dns.answers["inside.example.com"] = ["93.184.216.34", "127.0.0.1"]  # one bad address is enough
    with pytest.raises(Invalid, match=r"inside\.example\.com resolves to 127\.0\.0\.1, a loopback address"):
        await _hook(deps, key, url="https://inside.example.com/")
    dns.answers["later.example.com"] = []
    webhook, _ = await _hook(deps, key, url="https://later.example.com/")
    assert webhook.url == "https://later.example.com/"


async def test_a_send_with_tags_makes_a_signed_payload_for_subscribed_endpoints_only(deps, poster):
    key = await live_key(deps)
    await _hook(deps, key, ["email.sent"])
    await _hook(deps, key, ["email.bounced"], url="https://other.example.com/")
    email = await send_email(deps, key, command(tags={"order": "1042"}))
    await drain(deps)
    ((url, address, body),) = poster.posted
    assert url == HOOK and address == "93.184.216.34"
    payload = json.loads(body)
    assert payload["id"].startswith("evt_") and payload["type"] == "email.sent"
    assert payload["createdAt"].endswith("Z")
    assert payload["data"] == {
        "emailId": email.id,
        "from": "Acme <noreply@acme.test>",
        "to": ["alice@example.com"],
        "subject": "Hi",
        "tags": {"order": "1042"},
    }


async def test_other_projects_hear_nothing_and_feedback_events_are_told(deps, poster):
    key = await live_key(deps)
    other = await live_key(deps, name="other")
    await _hook(deps, other, ["email.sent", "email.complained"])
    await _hook(deps, key, ["email.complained"])
    email = await send_email(deps, key, command())
    await drain(deps)
    assert poster.posted == []
    await _feedback(deps, key.project_id, email.id, Feedback.COMPLAINT)
    await drain(deps)
    ((_, _, body),) = poster.posted
    assert json.loads(body)["type"] == "email.complained"


async def test_failures_follow_the_schedule_then_resolve_and_a_replay_sends_again(deps, poster, clock):
    key = await live_key(deps)
    webhook, _ = await _hook(deps, key)
    poster.statuses = [500, 500, 500]
    await send_email(deps, key, command())
    started = clock.now()
    await drain(deps)  # attempt 1 (500) at once
    await drain(deps)  # attempt 2 is due "immediately" again: 500
    assert len(poster.posted) == 2
    (failed,), more = await uc.failed_deliveries(deps, key, webhook.id, 50)
    assert not more and failed.attempts == 2 and failed.error == "HTTP 500" and failed.resolved_at is None
    assert failed.due_at == started + RETRY_DELAYS[1]
    clock.advance(seconds=4)
    await drain(deps)
    assert len(poster.posted) == 2  # not yet
    clock.advance(seconds=1)
    await drain(deps)  # attempt 3 (500) at +5 s
    clock.advance(minutes=5)
    await drain(deps)  # attempt 4: 200
    assert len(poster.posted) == 4 and len({body for _, _, body in poster.posted}) == 1
    (resolved,), _ = await uc.failed_deliveries(deps, key, webhook.id, 50)
    assert resolved.attempts == 4 and resolved.resolved_at == clock.now() and resolved.due_at is None
    replayed = await uc.replay_delivery(deps, key, webhook.id, resolved.id)
    assert replayed.replay_count == 1
    await drain(deps)
    assert len(poster.posted) == 5
    (after,), _ = await uc.failed_deliveries(deps, key, webhook.id, 50)
    assert after.replay_count == 1 and after.attempts == 5


async def test_a_delivery_gives_up_after_the_last_retry(deps, poster, clock):
    key = await live_key(deps)
    webhook, _ = await _hook(deps, key)
    poster.statuses = [503] * 20
    await send_email(deps, key, command())
    await drain(deps)
    for delay in RETRY_DELAYS:
        clock.advance(seconds=delay.total_seconds())
        await drain(deps)
    clock.advance(days=2)
    await drain(deps)
    assert len(poster.posted) == 1 + len(RETRY_DELAYS)
    (gave_up,), _ = await uc.failed_deliveries(deps, key, webhook.id, 50)
    assert gave_up.attempts == 9 and gave_up.due_at is None and gave_up.state.value == "failed"


async def test_410_disables_the_endpoint(deps, poster):
    key = await live_key(deps)
    webhook, _ = await _hook(deps, key)
    poster.statuses = [410]
    await send_email(deps, key, command())
    await drain(deps)
    assert not (await uc.get_webhook(deps, key, webhook.id)).active
    await send_email(deps, key, command())
    await drain(deps)
    assert len(poster.posted) == 1
    (failed,), _ = await uc.failed_deliveries(deps, key, webhook.id, 50)
    assert failed.error == "HTTP 410" and failed.due_at is None
    with pytest.raises(Conflict, match="paused"):
        await uc.replay_delivery(deps, key, webhook.id, failed.id)


async def test_a_paused_endpoint_keeps_nothing_queued_and_a_deleted_one_stops(deps, poster, clock):
    key = await live_key(deps)
    webhook, _ = await _hook(deps, key)
    poster.statuses = [500, 500]
    await send_email(deps, key, command())
    await drain(deps)  # failed twice (at once, and again at once); the next retry is queued
    await uc.update_webhook(deps, key, webhook.id, uc.WebhookInput(active=False))
    (dropped,), _ = await uc.failed_deliveries(deps, key, webhook.id, 50)
    assert dropped.state.value == "failed" and "paused" in dropped.error
    clock.advance(hours=1)
    await send_email(deps, key, command())
    await drain(deps)
    assert len(poster.posted) == 2
    await uc.update_webhook(deps, key, webhook.id, uc.WebhookInput(active=True))
    await uc.delete_webhook(deps, key, webhook.id)
    with pytest.raises(NotFound):
        await uc.get_webhook(deps, key, webhook.id)
    assert await deps.storage.webhooks.next_due() is None


async def test_a_host_that_moves_inside_the_network_is_refused_at_delivery(deps, poster, dns):
    key = await live_key(deps)
    webhook, _ = await _hook(deps, key, url="https://moving.example.com/")
    dns.answers["moving.example.com"] = ["10.1.2.3"]
    await send_email(deps, key, command())
    await drain(deps)
    assert poster.posted == []
    (refused,), _ = await uc.failed_deliveries(deps, key, webhook.id, 50)
    assert refused.error == "refused: url host moving.example.com resolves to 10.1.2.3, a private address"


async def test_only_the_operator_lets_one_projects_webhooks_reach_local_addresses(deps, poster):
    key = await live_key(deps)
    other = await live_key(deps, name="other")
    local = "http://127.0.0.1:9000/hook"
    with pytest.raises(Invalid, match=r"https:// URL .*autorelay webhooks local on"):
        await _hook(deps, key, url=local)
    owner = Caller.for_user("usr_1", key.project_id, Role.OWNER)
    for tenant in (key, owner):
        with pytest.raises(Forbidden, match="only the server's operator"):
            await uc.set_local_webhooks(deps, tenant, True)
    await uc.set_local_webhooks(deps, Caller.operator(key.project_id), True)
    webhook, _ = await _hook(deps, key, url=local)
    with pytest.raises(Invalid, match="https://"):
        await _hook(deps, other, url=local)  # one project's, not every project's
    await send_email(deps, key, command())
    await drain(deps)
    assert [(url, address) for url, address, _ in poster.posted] == [(local, "127.0.0.1")]

    # Turned off again, deliveries to it are refused (as for a host that moved inside the network).
    await uc.set_local_webhooks(deps, Caller.operator(key.project_id), False)
    await send_email(deps, key, command())
    await drain(deps)
    assert len(poster.posted) == 1
    (refused,), _ = await uc.failed_deliveries(deps, key, webhook.id, 50)
    assert refused.error.startswith("refused: url must be an https:// URL")


async def test_the_deliveries_list_pages_newest_first(deps, poster, clock):
    key = await live_key(deps)
    webhook, _ = await _hook(deps, key)
    poster.statuses = [500] * 6  # each fails at once and on the immediate retry
    for _ in range(3):
        await send_email(deps, key, command())
        await drain(deps)
        clock.advance(seconds=1)
    page, more = await uc.failed_deliveries(deps, key, webhook.id, 2)
    everything, _ = await uc.failed_deliveries(deps, key, webhook.id, 100)
    assert more and len(page) == 2 and page == everything[:2]
    assert len(everything) == 3 and everything[0].created_at > everything[1].created_at > everything[2].created_at


async def test_the_reconciler_wakes_a_pass_for_an_overdue_delivery(deps):
    from autorelay_core.usecases.notify import reconcile_webhooks

    key = await live_key(deps)
    await _hook(deps, key)
    await send_email(deps, key, command())
    from autorelay_core.usecases.deliver_email import deliver_due

    await deliver_due(deps)  # the email is sent; its webhook delivery waits for a pass
    deps.queue.wakes.clear()
    assert not await reconcile_webhooks(deps)  # not overdue yet
    deps.clock.advance(seconds=deps.config.reconcile_grace.total_seconds())
    assert await reconcile_webhooks(deps) and deps.queue.wakes == [None]


def test_the_schedule_is_the_documented_one():
    assert [d.total_seconds() for d in RETRY_DELAYS] == [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    assert sum(RETRY_DELAYS, timedelta()) == timedelta(hours=27, minutes=35, seconds=5)


async def _feedback(deps, project_id, email_id, kind):
    email = await deps.storage.emails.get(project_id, email_id)
    await apply_feedback(deps, email, kind, list(email.to))

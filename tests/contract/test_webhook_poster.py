"""The httpx webhook poster against a real HTTPS receiver (uvicorn with a trustme certificate), its
host name resolved by a real DNS server on loopback (dnslib); the core drives retries on a fake
clock, over SQLite storage."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from attrs import evolve
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from adapters.dns.resolver import DnsPythonResolver
from adapters.storage.sqlite.store import SqliteStorage
from adapters.webhooks.poster import HttpWebhookPoster
from autorelay_core.usecases import manage_webhooks as uc
from autorelay_core.usecases.context import CoreConfig
from autorelay_core.usecases.deliver_email import drain
from autorelay_core.usecases.send_email import send_email
from tests.dns_server import DnsServer
from tests.support import FakeClock, ManualQueue, make_deps
from tests.unit.test_send_email import command, live_key
from tests.webhook_receiver import Receiver


@pytest.fixture
def receiver():
    with Receiver(tls_names=("hooks.test",)) as running:
        yield running


@pytest.fixture
def dns():
    with DnsServer() as server:
        server.publish("A", "hooks.test", "127.0.0.1")
        server.publish("A", "impostor.test", "127.0.0.1")  # same address, no certificate for the name
        yield server


@pytest.fixture
async def deps(tmp_path, receiver, dns):
    storage = SqliteStorage(tmp_path / "hooks.db")
    poster = HttpWebhookPoster(ca_file=receiver.ca_file())
    clock = FakeClock(datetime.now(UTC))  # Standard Webhooks receivers check the timestamp against theirs
    built = make_deps(storage, clock=clock, queue=ManualQueue())
    config = CoreConfig(webhooks_allow_private=True)  # the receiver is on loopback
    yield evolve(built, dns=DnsPythonResolver(dns.address), webhook_poster=poster, config=config)
    await poster.close()
    await storage.close()


def _verified(secret: str, request) -> dict:
    """What a receiver does: both signatures checked on the raw body (Standard Webhooks' own
    library, with a tolerance of 5 minutes, hence the clock's time for its check)."""
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-webhook-signature"], expected)
    return json.loads(request.body)


async def test_retries_follow_the_schedule_to_the_checked_address_with_the_host_name(deps, receiver):
    key = await live_key(deps)
    url = receiver.url("/hooks?source=autorelay", host="hooks.test")
    webhook, secret = await uc.create_webhook(deps, key, uc.WebhookInput(url, ["email.sent"]))
    receiver.statuses = [500, 500, 500]
    email = await send_email(deps, key, command(tags={"plan": "pro"}))
    await drain(deps)  # attempt 1 and the immediate retry
    assert len(receiver.requests) == 2
    (failing,), _ = await uc.failed_deliveries(deps, key, webhook.id, 50)
    assert failing.attempts == 2 and failing.error == "HTTP 500: nope" and failing.resolved_at is None  # what it said
    deps.clock.advance(seconds=5)
    await drain(deps)
    deps.clock.advance(minutes=5)
    await drain(deps)
    assert len(receiver.requests) == 4
    (resolved,), _ = await uc.failed_deliveries(deps, key, webhook.id, 50)
    assert resolved.attempts == 4 and resolved.resolved_at == deps.clock.now()
    first, *_, last = receiver.requests
    assert StandardWebhook(secret).verify(first.body, first.headers)["type"] == "email.sent"
    tampered = first.body.replace(b"email.sent", b"email.sEnt")
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(secret).verify(tampered, first.headers)
    assert first.body == last.body and first.headers["x-webhook-id"] == last.headers["x-webhook-id"]
    assert last.headers["host"] == f"hooks.test:{receiver.port}" and last.path == "/hooks"
    payload = _verified(secret, last)
    assert payload["type"] == "email.sent" and payload["data"]["emailId"] == email.id
    assert payload["data"]["tags"] == {"plan": "pro"} and last.headers["x-webhook-event"] == "email.sent"
    assert last.headers["webhook-id"] == payload["id"] == last.headers["x-webhook-id"]
    timestamp = int(last.headers["webhook-timestamp"])
    assert timestamp == int(deps.clock.now().timestamp())
    replayed = await uc.replay_delivery(deps, key, webhook.id, resolved.id)
    await drain(deps)
    assert replayed.replay_count == 1 and len(receiver.requests) == 5


async def test_a_certificate_for_another_name_fails_even_on_the_same_address(deps, receiver):
    key = await live_key(deps)
    url = receiver.url(host="impostor.test")
    webhook, _ = await uc.create_webhook(deps, key, uc.WebhookInput(url, ["email.sent"]))
    await send_email(deps, key, command())
    await drain(deps)
    assert receiver.requests == []
    (failed,), _ = await uc.failed_deliveries(deps, key, webhook.id, 50)
    assert "CERTIFICATE_VERIFY_FAILED" in failed.error or "certificate" in failed.error.lower()


async def test_redirects_are_not_followed_and_count_as_failures(deps, receiver):
    key = await live_key(deps)
    webhook, _ = await uc.create_webhook(deps, key, uc.WebhookInput(receiver.url(host="hooks.test"), ["email.sent"]))
    receiver.statuses = [307, 307]
    await send_email(deps, key, command())
    await drain(deps)
    assert len(receiver.requests) == 2  # the endpoint itself, twice; never the Location
    (failed,), _ = await uc.failed_deliveries(deps, key, webhook.id, 50)
    assert failed.error == "HTTP 307: nope"  # the status and what the endpoint said


def test_a_refusal_is_logged_with_the_first_words_of_the_answer_on_one_line():
    from adapters.webhooks.poster import outcome_of

    said = outcome_of(422, b'{"error":\n "missing\\tfield",\x00 "x": 1}')
    assert not said.delivered and said.detail == 'HTTP 422: {"error": "missing\\tfield", "x": 1}'
    assert outcome_of(500).detail == "HTTP 500" and outcome_of(410).gone and outcome_of(204).delivered

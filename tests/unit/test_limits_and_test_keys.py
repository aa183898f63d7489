"""Per-recipient and per-IP limit scopes, operator overrides, and where test-key mail goes."""

from __future__ import annotations

import pytest

from autorelay_core.domain.keys import KeyMode
from autorelay_core.errors import RateLimited
from autorelay_core.policies.rate_limit import Limit
from autorelay_core.usecases.enforce_limits import enforce
from autorelay_core.usecases.send_email import send_email
from tests.support import RecordingMailer, make_deps
from tests.unit.test_send_email import command, live_key


async def test_otp_send_is_limited_per_key_and_per_recipient(deps):
    key = await live_key(deps)
    for _ in range(5):
        await enforce(deps, "otp.send", caller=key, recipient="a@example.com")
    with pytest.raises(RateLimited, match="5/hour per recipient"):
        await enforce(deps, "otp.send", caller=key, recipient="A@example.com")
    await enforce(deps, "otp.send", caller=key, recipient="b@example.com")


async def test_unsubscribe_is_limited_per_ip(deps):
    for _ in range(60):
        await enforce(deps, "contacts.unsubscribe", ip="203.0.113.9")
    with pytest.raises(RateLimited) as refused:
        await enforce(deps, "contacts.unsubscribe", ip="203.0.113.9")
    assert 1 <= refused.value.retry_after <= 61  # the clock stood still: a full window, plus the margin
    await enforce(deps, "contacts.unsubscribe", ip="203.0.113.10")


async def test_an_operator_override_replaces_the_per_key_limit(deps, clock):
    key = await live_key(deps)
    await deps.storage.limits.set(key.project_id, "emails.send_batch", Limit(2, 60))
    await enforce(deps, "emails.send_batch", caller=key)
    await enforce(deps, "emails.send_batch", caller=key)
    with pytest.raises(RateLimited, match="2/min"):
        await enforce(deps, "emails.send_batch", caller=key)
    clock.advance(seconds=61)
    await enforce(deps, "emails.send_batch", caller=key)


async def test_test_keys_always_deliver_through_the_log_mailer(clock):
    real, log = RecordingMailer(), RecordingMailer()
    deps = make_deps(clock=clock, mailer=real)
    from attrs import evolve

    deps = evolve(deps, test_mailer=log)
    test_key = await live_key(deps, "t", mode=KeyMode.TEST)
    email = await send_email(deps, test_key, command(from_="any@unverified.example"))
    from autorelay_core.usecases.deliver_email import deliver_email

    assert await deliver_email(deps, email.id) == "sent"
    assert [m.id for m in log.sent] == [email.id] and real.sent == [] and email.test


def test_every_limited_operation_has_a_route_and_every_mapped_route_a_limit():
    from adapters.http.operations import ROUTE_OPERATIONS
    from autorelay_core.policies.rate_limit import LIMITS

    assert set(ROUTE_OPERATIONS.values()) == set(LIMITS)

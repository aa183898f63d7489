"""Quotas and senders: what live keys may send, what it costs, and what happens at the limit."""

from __future__ import annotations

import attrs
import pytest

from autorelay_core.domain.keys import KeyMode
from autorelay_core.errors import Invalid, QuotaExceeded
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.usecases.send_email import send_email
from tests.support import make_deps
from tests.unit.test_send_email import command, live_key


async def stored(deps, key) -> int:
    return (await deps.storage.emails.page(key.project_id, CursorRequest(limit=1))).total


async def test_live_keys_need_a_verified_domain_or_the_sandbox_sender(deps):
    key = await live_key(deps)
    with pytest.raises(Invalid, match=r"elsewhere\.test is not a verified domain"):
        await send_email(deps, key, command(from_="x@elsewhere.test"))
    await send_email(deps, key, command(from_="AutoRelay <hello@autorelay.net>"))
    test_key = await live_key(deps, "other", mode=KeyMode.TEST)
    await send_email(deps, test_key, command(from_="x@elsewhere.test"))


async def test_the_sandbox_sender_is_capped_per_day(clock, mailer):
    deps = make_deps(clock=clock, mailer=mailer)
    deps = attrs.evolve(deps, config=attrs.evolve(deps.config, sandbox_daily_cap=3))
    key = await live_key(deps)
    sandbox = command(from_="hello@autorelay.net")
    for _ in range(3):
        await send_email(deps, key, sandbox)
    with pytest.raises(QuotaExceeded, match="capped at 3"):
        await send_email(deps, key, sandbox)
    assert await stored(deps, key) == 3
    await send_email(deps, key, command())  # a verified domain is not capped
    clock.advance(days=1)
    await send_email(deps, key, sandbox)


async def test_the_monthly_quota_stops_live_sends_and_not_test_sends(clock, mailer):
    deps = make_deps(clock=clock, mailer=mailer)
    deps = attrs.evolve(deps, config=attrs.evolve(deps.config, monthly_quota=2))
    key = await live_key(deps)
    await send_email(deps, key, command())
    await send_email(deps, key, command())
    with pytest.raises(QuotaExceeded, match="Monthly quota of 2"):
        await send_email(deps, key, command())
    assert await stored(deps, key) == 2
    assert await deps.storage.quota.usage(key.project_id, "emails", clock.now().strftime("%Y-%m")) == 2
    test_key = await live_key(deps, "t", mode=KeyMode.TEST)
    await send_email(deps, test_key, command())

"""Every message that leaves is metered (security class 3): one-time codes and double opt-in
confirmations count against the monthly quota and the sandbox cap, and share the per-recipient
limit, however they are asked for."""

from __future__ import annotations

import pytest
from attrs import evolve

from autorelay_core.domain.keys import KeyMode
from autorelay_core.errors import QuotaExceeded, RateLimited
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.policies.quota import day, month
from autorelay_core.ports import ContactQuery
from autorelay_core.usecases.manage_contacts import (
    ContactInput,
    create_contact,
    create_list,
    delete_contact,
    import_contacts,
)
from autorelay_core.usecases.otp import send_code, verify_code
from tests.unit.test_send_email import live_key


def capped(deps, **config):
    return evolve(deps, config=evolve(deps.config, **config))


async def usage(deps, project_id):
    now = deps.clock.now()
    quota = deps.storage.quota
    return await quota.usage(project_id, "emails", month(now)), await quota.usage(project_id, "sandbox", day(now))


async def test_codes_count_against_the_quota_and_the_sandbox_cap(deps):
    deps = capped(deps, sandbox_daily_cap=2)
    key = await live_key(deps)
    await send_code(deps, key, "a@example.com", None)
    await send_code(deps, key, "b@example.com", None)
    assert await usage(deps, key.project_id) == (2, 2)
    with pytest.raises(QuotaExceeded, match="sandbox sender is capped at 2"):
        await send_code(deps, key, "c@example.com", None)
    assert await usage(deps, key.project_id) == (2, 2)


async def test_a_refused_code_leaves_the_earlier_one_valid(deps, mailer):
    deps = capped(deps, monthly_quota=1)
    key = await live_key(deps)
    await send_code(deps, key, "a@example.com", None)
    await deps.queue.drain()
    code = mailer.sent[0].text.split()[4]  # the mailer gets it opened
    with pytest.raises(QuotaExceeded, match="Monthly quota of 1"):
        await send_code(deps, key, "a@example.com", None)
    assert await verify_code(deps, key, "a@example.com", None, code) == 0


async def test_test_keys_codes_are_not_charged(deps):
    deps = capped(deps, monthly_quota=1)
    key = await live_key(deps)
    for address in ("a@example.com", "b@example.com"):
        await send_code(deps, key, address, None, test=True)
    assert await usage(deps, key.project_id) == (0, 0)


async def test_re_adding_a_contact_cannot_send_more_codes_than_the_recipient_limit(deps):
    key = await live_key(deps)
    target = await create_list(deps, key, "Confirmed", double_opt_in=True)
    fields = ContactInput(email="victim@example.com", list_id=target.id)
    for _ in range(5):  # the reference's limit: 5 codes an hour per recipient
        contact = await create_contact(deps, key, fields)
        await delete_contact(deps, key, contact.id)
    with pytest.raises(RateLimited) as refused:
        await create_contact(deps, key, fields)
    assert refused.value.retry_after > 0
    page = await deps.storage.contacts.page(key.project_id, _query(target.id), _first_page())
    assert page.total == 0  # no pending contact left without its code
    with pytest.raises(RateLimited):  # the same budget as POST /otp/send
        await send_code(deps, key, "victim@example.com", None)


async def test_an_import_that_would_pass_what_is_left_is_refused_up_front(deps):
    deps = capped(deps, sandbox_daily_cap=3)
    key = await live_key(deps)
    target = await create_list(deps, key, "Confirmed", double_opt_in=True)
    rows = [{"email": f"u{i}@example.com"} for i in range(4)]
    with pytest.raises(QuotaExceeded, match=r"up to 4 confirmation emails .* only 3 are left .* nothing was imported"):
        await import_contacts(deps, key, target.id, rows)
    page = await deps.storage.contacts.page(key.project_id, _query(target.id), _first_page())
    assert page.total == 0 and await usage(deps, key.project_id) == (0, 0)
    assert (await import_contacts(deps, key, target.id, rows[:3])).imported == 3
    assert await usage(deps, key.project_id) == (3, 3)


async def test_an_import_skips_addresses_past_their_recipient_limit(deps):
    key = await live_key(deps, mode=KeyMode.LIVE)
    for _ in range(5):
        await send_code(deps, key, "busy@example.com", None)
    target = await create_list(deps, key, "Confirmed", double_opt_in=True)
    result = await import_contacts(deps, key, target.id, [{"email": "ok@example.com"}, {"email": "busy@example.com"}])
    assert result.imported == 1
    assert [index for index, _ in result.errors] == [1] and "not imported" in result.errors[0][1]


def _query(list_id):
    return ContactQuery(list_id=list_id)


def _first_page():
    return OffsetRequest(1, 50)

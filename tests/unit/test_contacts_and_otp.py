"""Contacts, imports, one-time codes and double opt-in, over the memory adapters and a fake clock."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from autorelay_core.domain.contacts import ContactStatus
from autorelay_core.errors import CodeRejected, Conflict, Invalid, NotFound
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.usecases import manage_contacts as uc
from autorelay_core.usecases.otp import TEMPLATE_NAME, send_code, verify_code
from tests.unit.test_send_email import live_key


async def delivered_code(deps, mailer, address: str) -> str:
    """Deliver what is queued and read the code from the last message to `address`, as a user would."""
    await deps.queue.drain()
    message = [m for m in mailer.sent if m.to == (address,)][-1]
    return re.search(r"\b(\d{6})\b", message.text).group(1)


async def test_a_code_verifies_once_and_is_never_stored_readable(deps, mailer, clock):
    key = await live_key(deps)
    expires = (await send_code(deps, key, "User@Example.com", None)).expires_at
    assert expires == clock.now() + timedelta(minutes=10)
    code = await delivered_code(deps, mailer, "User@Example.com")
    stored = (await deps.storage.emails.page(key.project_id, _all())).items[0]
    assert code not in stored.html and code not in (stored.text or "") and code not in stored.subject
    assert stored.sealed and stored.tags == {"autorelay": "otp", "purpose": "subscribe"}
    record = await deps.storage.otp.current(key.project_id, "user@example.com", "subscribe")
    assert code not in record.code_hash
    assert await verify_code(deps, key, "user@EXAMPLE.com", "subscribe", code) == 0
    with pytest.raises(CodeRejected, match="already used"):
        await verify_code(deps, key, "user@example.com", "subscribe", code)


async def test_codes_expire_after_ten_minutes_and_belong_to_one_purpose(deps, mailer, clock):
    key = await live_key(deps)
    await send_code(deps, key, "a@example.com", "login")
    code = await delivered_code(deps, mailer, "a@example.com")
    with pytest.raises(CodeRejected, match="No code"):
        await verify_code(deps, key, "a@example.com", "subscribe", code)
    clock.advance(minutes=10)
    with pytest.raises(CodeRejected, match="expired"):
        await verify_code(deps, key, "a@example.com", "login", code)
    other = await live_key(deps, "other")
    await send_code(deps, key, "b@example.com", None)
    code = await delivered_code(deps, mailer, "b@example.com")
    with pytest.raises(CodeRejected, match="No code"):
        await verify_code(deps, other, "b@example.com", None, code)


async def test_five_wrong_tries_kill_the_code_and_a_new_code_replaces_the_old(deps, mailer):
    key = await live_key(deps)
    await send_code(deps, key, "a@example.com", None)
    code = await delivered_code(deps, mailer, "a@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        with pytest.raises(CodeRejected, match=f"{left} tries left"):
            await verify_code(deps, key, "a@example.com", None, wrong)
    with pytest.raises(CodeRejected, match="now invalid"):
        await verify_code(deps, key, "a@example.com", None, wrong)
    with pytest.raises(CodeRejected, match="Too many"):
        await verify_code(deps, key, "a@example.com", None, code)
    await send_code(deps, key, "a@example.com", None)
    newer = await delivered_code(deps, mailer, "a@example.com")
    await verify_code(deps, key, "a@example.com", None, newer)


async def test_code_input_is_checked(deps):
    key = await live_key(deps)
    with pytest.raises(Invalid, match="6 digits"):
        await verify_code(deps, key, "a@example.com", None, "12345")
    with pytest.raises(Invalid, match="purpose"):
        await send_code(deps, key, "a@example.com", "Sign Up!")
    with pytest.raises(Invalid, match="email"):
        await send_code(deps, key, "not an address", None)


async def test_a_project_template_changes_the_code_email(deps, mailer):
    from autorelay_core.usecases.manage_templates import TemplateInput, create_template

    key = await live_key(deps)
    html = "<p>Acme code: {{ code }} ({{ purpose }}, {{ minutes }} min)</p>"
    await create_template(deps, key, TemplateInput(TEMPLATE_NAME, "Acme sign-in", html, "Code {{ code }}"))
    await send_code(deps, key, "a@example.com", "login")
    code = await delivered_code(deps, mailer, "a@example.com")
    message = mailer.sent[-1]
    assert message.subject == "Acme sign-in" and f"Acme code: {code} (login, 10 min)" in message.html


async def test_double_opt_in_contacts_are_pending_until_they_confirm(deps, mailer):
    key = await live_key(deps)
    optin = await uc.create_list(deps, key, "Newsletter", double_opt_in=True)
    plain = await uc.create_list(deps, key, "Customers")
    pending = await uc.create_contact(deps, key, uc.ContactInput("Ann@example.com", optin.id, "Ann"))
    assert pending.status is ContactStatus.PENDING
    same_elsewhere = await uc.create_contact(deps, key, uc.ContactInput("ann@example.com", plain.id))
    assert same_elsewhere.status is ContactStatus.SUBSCRIBED
    code = await delivered_code(deps, mailer, "Ann@example.com")
    assert await verify_code(deps, key, "ann@example.com", "subscribe", code) == 1
    assert (await uc.get_contact(deps, key, pending.id)).status is ContactStatus.SUBSCRIBED
    result = await uc.import_contacts(deps, key, optin.id, [{"email": "b@example.com"}, {"email": "c@example.com"}])
    assert result.imported == 2
    await deps.queue.drain()
    assert {m.to[0] for m in mailer.sent} >= {"b@example.com", "c@example.com"}


async def test_status_rules_on_update(deps):
    key = await live_key(deps)
    target = await uc.create_list(deps, key, "L")
    contact = await uc.create_contact(deps, key, uc.ContactInput("a@example.com", target.id))
    with pytest.raises(Invalid, match="subscribed"):
        await uc.update_contact(deps, key, contact.id, uc.ContactInput(status="bounced"))
    with pytest.raises(Invalid, match="status cannot be set"):
        await uc.create_contact(deps, key, uc.ContactInput("b@example.com", target.id, status="subscribed"))
    await uc.update_contact(deps, key, contact.id, uc.ContactInput(status="unsubscribed", name="  A  "))
    updated = await uc.get_contact(deps, key, contact.id)
    assert updated.status is ContactStatus.UNSUBSCRIBED and updated.name == "A"
    updated.status = ContactStatus.BOUNCED
    await deps.storage.contacts.update(updated)
    with pytest.raises(Conflict, match="bounced"):
        await uc.update_contact(deps, key, contact.id, uc.ContactInput(status="subscribed"))
    with pytest.raises(NotFound):
        await uc.update_contact(deps, key, contact.id, uc.ContactInput(list_id="lst_nope"))
    with pytest.raises(Invalid, match="a list is required") as refused:
        await uc.create_contact(deps, key, uc.ContactInput("c@example.com", None))
    assert refused.value.field == "list_id"


async def test_import_reports_invalid_rows_skips_existing_and_refuses_too_many(deps):
    key = await live_key(deps)
    target = await uc.create_list(deps, key, "L")
    await uc.create_contact(deps, key, uc.ContactInput("old@example.com", target.id))
    rows = [
        {"email": "a@example.com", "name": "A"},
        {"email": "OLD@example.com"},
        "not an object",
        {"email": "broken"},
        {"email": "b@example.com", "extra": 1},
        {"email": "a@EXAMPLE.com"},
    ]
    result = await uc.import_contacts(deps, key, target.id, rows)
    assert (result.imported, result.skipped) == (1, 2)
    assert [index for index, _ in result.errors] == [2, 3, 4]
    assert "extra" in result.errors[2][1]
    too_many = [{"email": f"u{i}@example.com"} for i in range(deps.config.max_import_rows + 1)]
    with pytest.raises(Invalid, match="at most 10000"):
        await uc.import_contacts(deps, key, target.id, too_many)
    page = await uc.list_contacts(deps, key, target.id, OffsetRequest(1, 200), None, None)
    assert page.total == 2


def _all():
    from autorelay_core.policies.pagination import CursorRequest

    return CursorRequest(limit=100)

"""POST /otp/send and /otp/verify, and the codes double opt-in sends.

The code goes out as a real email through the outbox and the mailer port. Its body is sealed with
the server secret while it waits in storage, and the code itself is kept only as an HMAC: nothing
stored reveals a live code.
"""

from __future__ import annotations

import re
from datetime import datetime

from attrs import frozen

from autorelay_core.domain import otp
from autorelay_core.domain.addresses import Mailbox, check_address
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.contacts import email_key
from autorelay_core.domain.emails import Email, EventType
from autorelay_core.errors import CodeRejected, Invalid
from autorelay_core.policies.quota import Charge, charges
from autorelay_core.policies.rate_limit import Scope
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.enforce_limits import Applied, enforce
from autorelay_core.usecases.journey_entry import confirmed
from autorelay_core.usecases.send_email import new_message_id

# A project may change the email by saving a template with this name (subject, html, text; the
# variables are `code`, `minutes` and `purpose`).
TEMPLATE_NAME = "autorelay-otp"
_SUBJECT = "Your verification code"
_HTML = (
    "<p>Your verification code is</p>"
    '<p style="font-size:28px;letter-spacing:6px"><strong>{{ code }}</strong></p>'
    "<p>It expires in {{ minutes }} minutes. If you did not ask for it, you can ignore this email.</p>"
)
_TEXT = "Your verification code is {{ code }}\n\nIt expires in {{ minutes }} minutes.\n"
_PURPOSE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@frozen
class CodeRequest:
    email: str
    purpose: str | None = None


@frozen
class CodeCheck:
    email: str
    code: str
    purpose: str | None = None


def check_purpose(value: str | None) -> str:
    if value is None:
        return "subscribe"  # the reference's examples leave it out
    if not _PURPOSE.fullmatch(value):
        raise Invalid("purpose must be a short lowercase word such as 'subscribe'", field="purpose")
    return value


@frozen
class IssuedCode:
    expires_at: datetime
    applied: list[Applied]  # the per-recipient limit as counted, for the RateLimit headers


# Every code email, from POST /otp/send or from a double opt-in list, counts against this
# endpoint's per-recipient limit: deleting and re-adding a contact cannot send more.
CODE_ENDPOINT = "otp.send"


def code_charges(deps: Deps, at: datetime) -> tuple[Charge, ...]:
    """What one live code email is charged: the monthly quota, and the sandbox sender's daily cap
    when codes go out from the sandbox sender (the default)."""
    sender = Mailbox.parse(deps.config.otp_sender, "otp sender")
    config = deps.config
    sandbox = sender.address.lower() == config.sandbox_sender.lower()
    return charges(at=at, monthly_quota=config.monthly_quota, sandbox=sandbox, sandbox_cap=config.sandbox_daily_cap)


async def send_code(deps: Deps, caller: Caller, address: str, purpose: str | None, *, test: bool = False) -> IssuedCode:
    """Issue a new code for (address, purpose), replacing any earlier one, and queue its email
    (through the log mailer when `test`, as for a test key). Metered like any send: RateLimited past
    the per-recipient limit, QuotaExceeded (nothing stored) past the quota or the sandbox cap."""
    project_id = caller.project_id
    address = check_address(address, "email")
    purpose = check_purpose(purpose)
    applied = await enforce(deps, CODE_ENDPOINT, project_id=project_id, recipient=address, only=Scope.RECIPIENT)
    now = deps.clock.now()
    code = otp.new_code()
    record = otp.OtpCode(
        id=deps.ids.new("otp"),
        project_id=project_id,
        email_key=email_key(address),
        purpose=purpose,
        code_hash=otp.code_hash(deps.config.otp_key, project_id, email_key(address), purpose, code),
        created_at=now,
        expires_at=now + otp.LIFETIME,
    )
    email = await _code_email(deps, project_id, address, purpose, code, test)
    event = email.record(EventType.QUEUED, now)
    await deps.storage.emails.add(email, [event], () if test else code_charges(deps, now))
    await deps.storage.otp.put(record)  # after the charge: a refused email leaves the earlier code valid
    deps.queue.wake()
    return IssuedCode(record.expires_at, applied)


async def _code_email(deps: Deps, project_id: str, address: str, purpose: str, code: str, test: bool) -> Email:
    subject, html, text = _SUBJECT, _HTML, _TEXT
    for template in await deps.storage.templates.list(project_id):
        if template.name == TEMPLATE_NAME:
            subject, html, text = template.subject, template.html, template.text or _TEXT
    data = {"code": code, "minutes": int(otp.LIFETIME.total_seconds() // 60), "purpose": purpose}
    # The subject is stored in the clear, so it never gets the code.
    subject, html, text = await deps.offload.run(_render, deps, (subject, html, text), data)
    sender = Mailbox.parse(deps.config.otp_sender, "otp sender")
    email_id = deps.ids.new("em")
    return Email(
        id=email_id,
        project_id=project_id,
        message_id=new_message_id(sender, email_id),
        sender=sender.formatted(),
        to=(address,),
        subject=subject,
        html=deps.sealer.seal(html),
        text=deps.sealer.seal(text),
        created_at=deps.clock.now(),
        tags={"autorelay": "otp", "purpose": purpose},
        test=test,
        sealed=True,
    )


def _render(deps: Deps, sources: tuple[str, str, str], data: dict[str, object]) -> tuple[str, str, str]:
    subject, html, text = sources
    render = deps.templates.render
    return (
        render(subject, {**data, "code": ""}, strict=False, html=False),
        render(html, data, strict=False),
        render(text, data, strict=False, html=False),
    )


async def verify_code(deps: Deps, caller: Caller, address: str, purpose: str | None, code: str) -> int:
    """Accept the code once. For purpose `subscribe`, the address's pending contacts in the project
    become subscribed; returns how many."""
    project_id = caller.project_id
    address = check_address(address, "email")
    purpose = check_purpose(purpose)
    if not isinstance(code, str) or not re.fullmatch(rf"\d{{{otp.DIGITS}}}", code):
        raise Invalid(f"code must be {otp.DIGITS} digits", field="code")
    now = deps.clock.now()
    record = await deps.storage.otp.current(project_id, email_key(address), purpose)
    if record is None or not record.usable(now):
        raise CodeRejected(_why(record, now))
    presented = otp.code_hash(deps.config.otp_key, project_id, email_key(address), purpose, code)
    if not otp.same_hash(record.code_hash, presented):
        await deps.storage.otp.wrong_try(record)
        left = otp.MAX_WRONG - record.wrong - 1
        raise CodeRejected("The code is wrong" + (f"; {left} tries left" if left else "; it is now invalid"))
    if not await deps.storage.otp.use(record, now):
        raise CodeRejected("The code was already used")
    if purpose == "subscribe":
        confirmed_count = await deps.storage.contacts.confirm_pending(project_id, email_key(address))
        if confirmed_count:
            await confirmed(deps, project_id, address)  # they joined their lists now: journeys start
        return confirmed_count
    return 0


def _why(record: otp.OtpCode | None, now: datetime) -> str:
    if record is None:
        return "No code was sent to this address for this purpose"
    if record.used_at is not None:
        return "The code was already used"
    if record.wrong >= otp.MAX_WRONG:
        return "Too many wrong tries; ask for a new code"
    return "The code has expired; ask for a new code"

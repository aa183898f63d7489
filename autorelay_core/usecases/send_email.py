"""Accept one transactional email: validate, render, store as queued, hand to the outbox."""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from datetime import datetime
from typing import Any

from attrs import evolve, frozen

from autorelay_core.domain.addresses import Mailbox, check_recipients
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.domains import DomainStatus
from autorelay_core.domain.emails import Attachment, Email, EventType
from autorelay_core.domain.headers import LINE_BREAKS, RELAY_REFUSED, is_header_name, not_text_problem, one_line_problem
from autorelay_core.domain.templates import Template
from autorelay_core.errors import Invalid
from autorelay_core.policies.quota import Charge, charges
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found
from autorelay_core.usecases.manage_assets import attachment_from_asset


@frozen
class AttachmentInput:
    """Inline (`content` in base64 and `filename`) or an uploaded asset (`asset_id`)."""

    filename: str | None = None
    content: str | None = None  # base64
    content_type: str | None = None
    asset_id: str | None = None
    # Shown inside the HTML as <img src="cid:THIS"> rather than attached (an inline image).
    content_id: str | None = None


@frozen
class SendCommand:
    """A send request as the API describes it; types are checked at the edge, rules here."""

    to: str | list[str]
    from_: str
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    template_id: str | None = None
    data: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    cc: str | list[str] | None = None
    bcc: str | list[str] | None = None
    reply_to: str | list[str] | None = None
    headers: dict[str, str] | None = None
    attachments: list[AttachmentInput] | None = None
    scheduled_at: datetime | None = None


# Headers the platform writes itself; letting callers set them would break threading or delivery.
_RESERVED_HEADERS = (
    frozenset(
        {
            "from",
            "to",
            "cc",
            "bcc",
            "subject",
            "date",
            "message-id",
            "reply-to",
            "sender",
            "mime-version",
            "content-type",
            "content-transfer-encoding",
            "return-path",
            "dkim-signature",
            "received",
        }
    )
    | RELAY_REFUSED
)
MAX_SUBJECT = 998  # RFC 5322's line limit
# Of an email's HTML or text part: far past what any mailbox shows (Gmail clips at 102 KB), and a
# bound on what storing, converting and building one message costs the server.
MAX_PART_CHARS = 2 * 1024 * 1024
# Custom headers: enough for List-Id, X-Entity-Ref-ID and tracking ids; not a way to bloat messages.
MAX_HEADERS = 50
MAX_HEADER_VALUE = 998
MAX_HEADERS_TOTAL = 16 * 1024
_MIME_TYPE = re.compile(r"[!-~]+/[!-~]+")
_CONTENT_ID = re.compile(r"[!-;=?-~]{1,200}")  # printable ASCII without '<', '>' or spaces
_SCALARS = (str, int, float, bool, type(None))


def _check_flat(mapping: dict[str, Any] | None, field: str) -> dict[str, Any]:
    if mapping is None:
        return {}
    for key, value in mapping.items():
        if not isinstance(value, _SCALARS):
            raise Invalid(
                f"{field}.{key} must be a string, number, boolean or null, not a nested value",
                field=field,
            )
    return dict(mapping)


def _check_headers(headers: dict[str, str] | None) -> dict[str, str]:
    headers = headers or {}
    if len(headers) > MAX_HEADERS:
        raise Invalid(f"headers: at most {MAX_HEADERS} custom headers, got {len(headers)}", field="headers")
    if sum(len(name) + len(value) for name, value in headers.items()) > MAX_HEADERS_TOTAL:
        raise Invalid(f"headers: at most {MAX_HEADERS_TOTAL} characters of custom headers in all", field="headers")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not is_header_name(name):
            raise Invalid(
                f"headers: {name!r} is not a valid header name (printable ASCII without ':' or spaces, "
                "at most 76 characters)",
                field="headers",
            )
        if name.lower() in _RESERVED_HEADERS:
            raise Invalid(f"headers: {name} is set by AutoRelay and cannot be overridden", field="headers")
        problem = one_line_problem(value, tab=True)
        if problem is not None:
            raise Invalid(f"headers: the value of {name} {problem}", field="headers")
        if len(value) > MAX_HEADER_VALUE:
            raise Invalid(f"headers: the value of {name} may be at most {MAX_HEADER_VALUE} characters", field="headers")
        checked[name] = value
    return checked


def _safe_filename(name: str) -> str:
    cleaned = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in cleaned if ch.isprintable() and ch != '"' and ch not in LINE_BREAKS).strip()
    # A name with nothing usable left still deserves a name, not a refusal.
    return cleaned[:255] if cleaned.strip(".") else "attachment"


async def _decode_attachments(
    deps: Deps, project_id: str, items: list[AttachmentInput] | None, limit: int
) -> tuple[Attachment, ...]:
    decoded = []
    total = 0
    for index, item in enumerate(items or []):
        if (item.content is None) == (item.asset_id is None):
            raise Invalid(f"attachments[{index}] needs either content (base64) or asset_id", field="attachments")
        content_id = item.content_id
        if content_id is not None:
            content_id = content_id.strip().removeprefix("<").removesuffix(">")
            if not _CONTENT_ID.fullmatch(content_id):
                raise Invalid(
                    f"attachments[{index}].content_id must be up to 200 printable characters without spaces or <>",
                    field="attachments",
                )
        if item.asset_id is not None:
            if item.content_type is not None:
                raise Invalid(f"attachments[{index}]: an asset's content_type is its own", field="attachments")
            name = _safe_filename(item.filename) if item.filename else None
            attached = await attachment_from_asset(deps, project_id, item.asset_id, name)
            total += len(attached.content)
            if total > limit:
                raise Invalid(f"attachments exceed {limit // (1024 * 1024)} MB in total", field="attachments")
            decoded.append(evolve(attached, content_id=content_id))
            continue
        if item.filename is None:
            raise Invalid(f"attachments[{index}].filename is required with content", field="attachments")
        assert item.content is not None  # one of content and asset_id, checked above
        try:
            content = base64.b64decode(item.content, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid(f"attachments[{index}].content is not valid base64", field="attachments") from None
        total += len(content)
        if total > limit:
            raise Invalid(f"attachments exceed {limit // (1024 * 1024)} MB in total", field="attachments")
        filename = _safe_filename(item.filename)
        content_type = item.content_type
        if content_type is None:
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        elif not _MIME_TYPE.fullmatch(content_type):
            raise Invalid(f"attachments[{index}].content_type is not a MIME type like image/png", field="attachments")
        decoded.append(Attachment(filename, content, content_type, content_id))
    return tuple(decoded)


def _render(
    deps: Deps, template: Template, subject: str | None, text: str | None, data: dict[str, Any]
) -> tuple[str, str, str | None]:
    render = deps.templates.render
    html = render(template.html, data, strict=True)
    subject = render(subject or template.subject, data, strict=True, html=False)
    if text is None and template.text:
        text = render(template.text, data, strict=True, html=False)
    return html, subject, text


def _optional_recipients(value: str | list[str] | None, field: str, maximum: int) -> tuple[str, ...]:
    return () if value is None else check_recipients(value, field, maximum=maximum)


def new_message_id(sender: Mailbox, email_id: str) -> str:
    """Our own Message-ID: the email's id (a reply's In-Reply-To then names the email it answers:
    receive_mail.replied_to), on the sender's domain so that it aligns with DKIM and SPF."""
    return f"<{email_id}@{sender.domain}>"


async def sender_charges(deps: Deps, caller: Caller, sender: Mailbox) -> tuple[Charge, ...]:
    """What a send from `sender` is charged, after checking the key may use it: test keys may use
    any sender and are charged nothing; live keys need the sandbox sender or a verified domain."""
    if caller.is_test:
        return ()
    config = deps.config
    sandbox = sender.address.lower() == config.sandbox_sender.lower()
    if not sandbox:
        domain = await deps.storage.domains.get_by_name(caller.project_id, sender.domain)
        if domain is None or domain.status is not DomainStatus.VERIFIED:
            raise Invalid(
                f"from: {sender.domain} is not a verified domain of this project; verify it first, "
                f"send from the sandbox sender {config.sandbox_sender}, or use a test key",
                field="from",
            )
    return charges(
        at=deps.clock.now(), monthly_quota=config.monthly_quota, sandbox=sandbox, sandbox_cap=config.sandbox_daily_cap
    )


async def build_email(deps: Deps, caller: Caller, command: SendCommand) -> tuple[Email, tuple[Charge, ...]]:
    """Validate and render `command` into a new queued Email (not yet stored), and what it will be
    charged. A text part alone will do (an extension of the reference, which requires html or a
    template; Resend and Postmark accept text alone): the message is then text/plain only."""
    config = deps.config
    sender = Mailbox.parse(command.from_, "from")
    billed = await sender_charges(deps, caller, sender)
    to = check_recipients(command.to, "to", maximum=config.max_recipients)
    cc = _optional_recipients(command.cc, "cc", config.max_recipients)
    bcc = _optional_recipients(command.bcc, "bcc", config.max_recipients)
    reply_to = _optional_recipients(command.reply_to, "reply_to", config.max_recipients)
    data = _check_flat(command.data, "data")
    tags = _check_flat(command.tags, "tags")
    headers = _check_headers(command.headers)
    attachments = await _decode_attachments(deps, caller.project_id, command.attachments, config.max_attachment_bytes)

    subject, html, text = command.subject, command.html, command.text
    for field, part in (("html", html), ("text", text)):
        if part is not None and len(part) > MAX_PART_CHARS:
            raise Invalid(f"{field} may be at most {MAX_PART_CHARS:,} characters", field=field)
    if html is not None and not html:
        raise Invalid("html must not be empty; leave it out when sending a template", field="html")
    if subject is not None and not subject.strip():
        raise Invalid("subject must not be empty", field="subject")
    if subject is not None and len(subject) > MAX_SUBJECT:
        raise Invalid(f"subject may be at most {MAX_SUBJECT} characters", field="subject")
    if command.template_id is not None:
        template = found(
            await deps.storage.templates.get(caller.project_id, command.template_id), f"template {command.template_id}"
        )
        # template_id wins over html, as the reference says; the request's subject wins over the
        # template's because it is the more specific of the two.
        html, subject, text = await deps.offload.run(_render, deps, template, subject, text, data)
    elif html is None and not text:
        raise Invalid("html or text is required when template_id is absent", field="html")
    if not subject or not subject.strip():
        raise Invalid("subject is required", field="subject")
    problem = one_line_problem(subject, tab=True)
    if problem is not None:
        raise Invalid(f"subject {problem}", field="subject")
    for field, part in (("html", html), ("text", text)):
        problem = not_text_problem(part) if part else None
        if problem is not None:
            raise Invalid(f"{field} {problem}", field=field)

    now = deps.clock.now()
    scheduled_at = command.scheduled_at
    if scheduled_at is not None:
        if scheduled_at - now > config.max_schedule_ahead:
            raise Invalid(
                f"scheduled_at may be at most {config.max_schedule_ahead.days} days ahead",
                field="scheduled_at",
            )
        if scheduled_at <= now:
            scheduled_at = None

    email_id = deps.ids.new("em")
    email = Email(
        id=email_id,
        project_id=caller.project_id,
        message_id=new_message_id(sender, email_id),
        sender=sender.formatted(),
        to=to,
        to_was_list=not isinstance(command.to, str),
        cc=cc,
        bcc=bcc,
        reply_to=reply_to,
        subject=subject,
        html=html or "",
        text=text,
        headers=headers,
        attachments=attachments,
        tags=tags,
        template_id=command.template_id,
        test=caller.is_test,
        scheduled_at=scheduled_at,
        created_at=now,
    )
    return email, billed


async def send_email(deps: Deps, caller: Caller, command: SendCommand) -> Email:
    email, billed = await build_email(deps, caller, command)
    await accept(deps, email, billed)
    return email


async def accept(deps: Deps, email: Email, billed: tuple[Charge, ...] = ()) -> None:
    """Store the email as queued and wake a delivery pass. The row is the truth: if the queue
    loses the pass, the reconciler finds the row and wakes another."""
    event = email.record(EventType.QUEUED, email.created_at)
    await deps.storage.emails.add(email, [event], billed)
    deps.metrics.email_accepted(test=email.test)
    deps.queue.wake(email.scheduled_at)

"""What every store shares for inbound mail: a message as one JSON payload beside the columns a
page filters and orders on, and the clash of a name another project receives for."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from autorelay_core.domain.inbound import Attachment, InboundMessage, ReceivingDomain
from autorelay_core.errors import Conflict
from autorelay_core.ports.inbound import InboundFilter

DOMAIN_COLUMNS = "id, project_id, name, created_at"
ADD_MESSAGE = (
    "INSERT INTO inbound_messages (id, project_id, received_at, senders, recipients, subject, payload)"
    " VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {j})"
)
# Newest first, before the cursor's row (an unknown cursor finds nothing); each filter optional.
PAGE = (
    "SELECT id, project_id, received_at, payload FROM inbound_messages WHERE project_id = {p}"
    " AND seq < COALESCE((SELECT seq FROM inbound_messages WHERE id = {p} AND project_id = {p}), {p})"
    " AND ({p} = '' OR senders LIKE {p} ESCAPE '\\') AND ({p} = '' OR recipients LIKE {p} ESCAPE '\\')"
    " AND ({p} = '' OR subject LIKE {p} ESCAPE '\\')"
    " ORDER BY seq DESC LIMIT {p}"
)
GET = "SELECT id, project_id, received_at, payload FROM inbound_messages WHERE id = {p} AND project_id = {p}"
BEFORE = (
    "SELECT id, project_id, received_at, payload FROM inbound_messages WHERE received_at < {p}"
    " ORDER BY received_at, seq LIMIT {p}"
)
DELETE = (
    "DELETE FROM inbound_messages WHERE id = {p} AND project_id = {p} RETURNING id, project_id, received_at, payload"
)


def clash(domain: ReceivingDomain) -> Conflict:
    return Conflict(f"{domain.name} already receives mail (for this or another project)")


def payload(message: InboundMessage) -> str:
    m = message
    return json.dumps(
        {
            "envelope_from": m.envelope_from,
            "recipients": m.recipients,
            "from": m.from_,
            "to": m.to,
            "cc": m.cc,
            "reply_to": m.reply_to,
            "subject": m.subject,
            "message_id": m.message_id,
            "in_reply_to": m.in_reply_to,
            "references": m.references,
            "text": m.text,
            "html": m.html,
            "reply_text": m.reply_text,
            "headers": m.headers,
            "size": m.size,
            "raw_key": m.raw_key,
            "client_address": m.client_address,
            "helo": m.helo,
            "authentication": m.authentication,
            "reply_to_email": m.reply_to_email,
            "reply_to_campaign": m.reply_to_campaign,
            "reply_to_journey": m.reply_to_journey,
            "routes": m.routes,
            "forwards": m.forwards,
            "attachments": [
                [a.id, a.filename, a.content_type, a.size, a.disposition, a.content_id, a.key] for a in m.attachments
            ],
        },
        separators=(",", ":"),
    )


def message_of(id_: str, project_id: str, received_at: datetime, data: str | dict[str, Any]) -> InboundMessage:
    d = json.loads(data) if isinstance(data, str) else data
    return InboundMessage(
        id=id_,
        project_id=project_id,
        received_at=received_at,
        envelope_from=d["envelope_from"],
        recipients=tuple(d["recipients"]),
        from_=d["from"],
        to=tuple(d["to"]),
        cc=tuple(d["cc"]),
        reply_to=tuple(d["reply_to"]),
        subject=d["subject"],
        message_id=d["message_id"],
        in_reply_to=d["in_reply_to"],
        references=tuple(d["references"]),
        text=d["text"],
        html=d["html"],
        reply_text=d["reply_text"],
        headers=tuple((k, v) for k, v in d["headers"]),
        size=d["size"],
        raw_key=d["raw_key"],
        client_address=d["client_address"],
        helo=d["helo"],
        attachments=tuple(Attachment(*a) for a in d["attachments"]),
        authentication=d.get("authentication", {}),
        reply_to_email=d.get("reply_to_email", ""),
        reply_to_campaign=d.get("reply_to_campaign", ""),
        reply_to_journey=d.get("reply_to_journey", ""),
        routes=tuple(d.get("routes", ())),
        forwards=tuple(tuple(f) for f in d.get("forwards", ())),
    )


def searchable(message: InboundMessage) -> tuple[str, str, str]:
    """The columns a filter reads: senders and recipients as ' a b ' (lower case), the subject."""
    senders = {message.envelope_from.lower(), _address(message.from_)} - {""}
    return f" {' '.join(sorted(senders))} ", f" {' '.join(r.lower() for r in message.recipients)} ", message.subject


def message_values(message: InboundMessage, when: object) -> tuple[object, ...]:
    senders, recipients, subject = searchable(message)
    m = message
    return (m.id, m.project_id, when, senders, recipients, subject.lower(), payload(m))


def page_values(project_id: str, after: str | None, where: InboundFilter, limit: int) -> tuple[object, ...]:
    def like(text: str, *, whole: bool) -> str:
        text = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"% {text} %" if whole else f"%{text}%"

    return (
        project_id,
        after,
        project_id,
        2**62 if after is None else -1,
        where.sender,
        like(where.sender, whole=True),
        where.recipient,
        like(where.recipient, whole=True),
        where.subject,
        like(where.subject, whole=False),
        limit + 1,
    )


def matches(message: InboundMessage, where: InboundFilter) -> bool:
    senders, recipients, subject = searchable(message)
    return (
        (not where.sender or f" {where.sender.lower()} " in senders)
        and (not where.recipient or f" {where.recipient.lower()} " in recipients)
        and (not where.subject or where.subject.lower() in subject.lower())
    )


def _address(mailbox: str) -> str:
    from email.utils import parseaddr

    return parseaddr(mailbox)[1].lower()

"""Emails, their delivery events and the status machine.

`status` is what the customer sees (queued, sent, failed, then opened/clicked, bounced/complained).
`delivery` is the outbox state the workers use (pending, leased, done); it never leaves the core's
storage adapters except as part of the outbox ports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from attrs import define, field, frozen

from autorelay_core.domain.headers import first_unsafe_header
from autorelay_core.errors import Conflict


class EmailStatus(StrEnum):
    QUEUED = "queued"
    # Its worker stopped between recording the hand-over and hearing back: the message may or may
    # not have left. Never reported as sent; resent with the same Message-ID or held for the
    # operator, as the project's policy says (settle_handovers).
    UNCERTAIN = "uncertain"
    SENT = "sent"
    FAILED = "failed"
    OPENED = "opened"
    CLICKED = "clicked"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class EventType(StrEnum):
    QUEUED = "queued"
    UNCERTAIN = "uncertain"
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    FAILED = "failed"
    # A delivery attempt failed for now (a 4xx, a timeout): the email waits for its next attempt.
    DEFERRED = "deferred"


class Delivery(StrEnum):
    PENDING = "pending"  # waiting for a worker (or for its scheduled time / retry time)
    LEASED = "leased"  # a worker holds it until lease_until
    # The worker is handing the message over (SMTP: the end of DATA is on its way). If the worker dies
    # now the next hop has almost surely taken it: the reconciler records it sent, never resends.
    HANDOVER = "handover"
    DONE = "done"  # sent or failed for good; never touched by the outbox again
    HELD = "held"  # a paused campaign's email: no worker takes it until the campaign resumes


# Which customer-visible status each event moves an email to, from which statuses.
# Engagement only moves forward (sent -> opened -> clicked); a bounce or complaint wins over all.
_TRANSITIONS: dict[EventType, tuple[frozenset[EmailStatus], EmailStatus | None]] = {
    EventType.QUEUED: (frozenset({EmailStatus.QUEUED}), EmailStatus.QUEUED),
    EventType.UNCERTAIN: (frozenset({EmailStatus.QUEUED, EmailStatus.UNCERTAIN}), EmailStatus.UNCERTAIN),
    EventType.SENT: (frozenset({EmailStatus.QUEUED, EmailStatus.UNCERTAIN}), EmailStatus.SENT),
    EventType.FAILED: (frozenset({EmailStatus.QUEUED, EmailStatus.UNCERTAIN}), EmailStatus.FAILED),
    # Before delivery: a failed attempt; after it: a soft bounce that came back later (4.x.x).
    EventType.DEFERRED: (
        frozenset(
            {EmailStatus.QUEUED, EmailStatus.UNCERTAIN, EmailStatus.SENT, EmailStatus.OPENED, EmailStatus.CLICKED}
        ),
        None,
    ),
    EventType.DELIVERED: (frozenset({EmailStatus.SENT, EmailStatus.OPENED, EmailStatus.CLICKED}), None),
    EventType.OPENED: (
        frozenset({EmailStatus.SENT, EmailStatus.OPENED, EmailStatus.CLICKED}),
        EmailStatus.OPENED,
    ),
    EventType.CLICKED: (
        frozenset({EmailStatus.SENT, EmailStatus.OPENED, EmailStatus.CLICKED}),
        EmailStatus.CLICKED,
    ),
    EventType.BOUNCED: (
        frozenset(
            {EmailStatus.QUEUED, EmailStatus.UNCERTAIN, EmailStatus.SENT, EmailStatus.OPENED, EmailStatus.CLICKED}
        ),
        EmailStatus.BOUNCED,
    ),
    EventType.COMPLAINED: (
        frozenset({EmailStatus.SENT, EmailStatus.OPENED, EmailStatus.CLICKED, EmailStatus.BOUNCED}),
        EmailStatus.COMPLAINED,
    ),
}


def next_status(current: EmailStatus, event: EventType) -> EmailStatus:
    """The status after `event`, or Conflict when the event makes no sense from `current`.

    Engagement arriving again (a second open, a click after a click) keeps the furthest status.
    """
    allowed, target = _TRANSITIONS[event]
    if current not in allowed:
        raise Conflict(f"an email that is {current.value} cannot record a {event.value} event")
    if target is None:
        return current
    if event is EventType.OPENED and current is EmailStatus.CLICKED:
        return current
    return target


@frozen
class Event:
    type: EventType
    created_at: datetime
    data: dict[str, Any] = field(factory=dict)


@frozen
class Attachment:
    filename: str
    content: bytes
    content_type: str
    # An inline part the HTML shows as <img src="cid:...">; None for a file attached to the email.
    content_id: str | None = None


@define
class Email:
    id: str
    project_id: str
    message_id: str
    sender: str  # formatted "Name <addr>"
    to: tuple[str, ...]
    subject: str
    html: str
    text: str | None  # None until delivery generates it from the HTML
    created_at: datetime
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    headers: dict[str, str] = field(factory=dict)
    attachments: tuple[Attachment, ...] = ()
    tags: dict[str, Any] = field(factory=dict)
    template_id: str | None = None
    test: bool = False
    scheduled_at: datetime | None = None
    status: EmailStatus = EmailStatus.QUEUED
    opens: int = 0
    clicks: int = 0
    last_error: str | None = None
    provider_message_id: str | None = None
    # Whether `to` was given as a bare string; the API echoes the shape the caller used.
    to_was_list: bool = False
    # html and text are sealed with the server secret (an OTP email: its code must not be readable
    # in storage); delivery opens them for the mailer only.
    sealed: bool = False
    # Campaign mail: one email per (campaign, contact), made at launch.
    campaign_id: str | None = None
    contact_id: str | None = None
    variant: int | None = None  # an A/B test's variant (0 is A), for its stats
    # Mail taken in by the SMTP relay: the message exactly as the client sent it (without Bcc and
    # Message-ID headers: the mailers add ours); html and text stay empty.
    raw: bytes | None = None
    # The envelope sender for this attempt (a VERP address), set on the outgoing copy only.
    return_path: str | None = None

    def header_problem(self) -> str | None:
        """Why this email's headers, as rendered, cannot be written as they are (a line break a
        template or an older row let through), or None when every one is a single safe line."""
        pairs = [("From", self.sender), ("Subject", self.subject), ("Message-ID", self.message_id)]
        for name, values in (("To", self.to), ("Cc", self.cc), ("Bcc", self.bcc), ("Reply-To", self.reply_to)):
            pairs += [(name, value) for value in values]
        pairs += self.headers.items()
        for attachment in self.attachments:
            pairs += [("Content-Type", attachment.content_type), ("Content-Disposition", attachment.filename)]
        return first_unsafe_header(pairs)

    def reported(self, named: Sequence[str | tuple[str, ...]]) -> tuple[tuple[str, ...], int]:
        """Of the recipients a bounce or complaint report about this email names (each an address,
        or the names one report block gives a recipient: Original-Recipient, Final-Recipient, ...),
        those it may affect (this email's own, as this email wrote them), and how many others it
        named: those are never applied, whoever wrote the report. An email to one recipient takes
        a report under whatever name the receiving MTA gives them (a local alias, a forward)."""
        own = {address.lower(): address for address in (*self.to, *self.cc, *self.bcc)}
        matched: dict[str, None] = {}
        strangers = 0
        for item in named:
            names = (item,) if isinstance(item, str) else item
            mine = next((own[n.lower()] for n in names if n.lower() in own), None)
            if mine is None:
                strangers += 1
            else:
                matched[mine] = None
        if matched or len(own) != 1:
            return tuple(matched), strangers
        return tuple(own.values()), max(0, strangers - 1)

    def record(self, event: EventType, at: datetime, **data: Any) -> Event:
        """Apply an event to the status and counters; the caller stores the returned Event."""
        self.status = next_status(self.status, event)
        if event is EventType.OPENED:
            self.opens += 1
        elif event is EventType.CLICKED:
            self.clicks += 1
        return Event(type=event, created_at=at, data=dict(data))

"""What contacts did: events a project records (`POST /events`: "signed_up", "upgraded") and the
engagement of the campaign mail they received, recorded as events of the same stream.

An event belongs to a person of the project, keyed by the address compared case-insensitively,
not to one contact row: someone in two lists who clicks is one person who clicked, and the
segments that count events see it in both lists.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from attrs import define, field

from autorelay_core.domain.emails import Email, Event, EventType
from autorelay_core.domain.headers import one_line_problem
from autorelay_core.errors import Invalid

MAX_NAME = 100
MAX_PROPERTIES_BYTES = 8 * 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]*")
# The platform's own events start so; a project's never do.
RESERVED_PREFIXES = ("email.", "contact.")
# A campaign email's events that are engagement of its contact, and their names in the stream.
ENGAGEMENT = {
    EventType.SENT: "email.sent",
    EventType.DELIVERED: "email.delivered",
    EventType.OPENED: "email.opened",
    EventType.CLICKED: "email.clicked",
    EventType.BOUNCED: "email.bounced",
    EventType.COMPLAINED: "email.complained",
}
UNSUBSCRIBED = "contact.unsubscribed"
# A received reply to a campaign's or a journey's email (usecases/receive_mail.py).
REPLIED = "email.replied"
ENGAGEMENT_NAMES = (*ENGAGEMENT.values(), REPLIED, UNSUBSCRIBED)


@define
class ContactEvent:
    id: str
    project_id: str
    email_key: str  # the person: their address, lower-cased
    name: str
    occurred_at: datetime
    properties: dict[str, Any] = field(factory=dict)
    campaign_id: str | None = None  # engagement: the campaign whose email it was
    email_id: str | None = None


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise Invalid("name is required: what the contact did, like 'signed_up'", field="name")
    if len(name) > MAX_NAME or not _NAME.fullmatch(name):
        raise Invalid(
            f"name must be 1 to {MAX_NAME} letters, digits, '_', '.', ':' or '-', starting with a letter or digit",
            field="name",
        )
    if name.startswith(RESERVED_PREFIXES):
        raise Invalid("names starting 'email.' or 'contact.' are the platform's own events", field="name")
    return name


def check_properties(value: Any) -> dict[str, Any]:
    """An event's properties: a JSON object of at most MAX_PROPERTIES_BYTES, keys one line each."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid("properties must be a JSON object", field="properties")
    try:
        size = len(json.dumps(value, separators=(",", ":"), allow_nan=False).encode())
    except (TypeError, ValueError):
        raise Invalid("properties must hold JSON values only", field="properties") from None
    if size > MAX_PROPERTIES_BYTES:
        raise Invalid(f"properties must be at most {MAX_PROPERTIES_BYTES // 1024} KB as JSON", field="properties")
    for key in value:
        problem = one_line_problem(key)
        if problem is not None or not key:
            raise Invalid(f"properties keys must be non-empty single lines ({key!r})", field="properties")
    return value


def engagement(email: Email, events: list[Event], new_id: Any) -> list[ContactEvent]:
    """The contact events a campaign email's new events make (none for other mail: a transactional
    email is not a contact's). `new_id()` gives each its id."""
    if email.contact_id is None or email.campaign_id is None or not email.to:
        return []
    person = email.to[0].lower()
    return [
        ContactEvent(
            id=new_id(),
            project_id=email.project_id,
            email_key=person,
            name=ENGAGEMENT[event.type],
            occurred_at=event.created_at,
            campaign_id=email.campaign_id,
            email_id=email.id,
        )
        for event in events
        if event.type in ENGAGEMENT
    ]

"""ContactEvent <-> row helpers shared by the SQL adapters."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from autorelay_core.domain.activity import ContactEvent, engagement
from autorelay_core.domain.emails import Email, Event

COLUMNS = "id, project_id, email_key, name, occurred_at, properties, campaign_id, email_id"


def new_event_id() -> str:
    return "cev_" + uuid.uuid4().hex


def engagement_of(email: Email, events: list[Event]) -> list[ContactEvent]:
    return engagement(email, events, new_event_id)


def when(at: datetime) -> str:
    """A time as SQLite keeps it here: UTC, microseconds always, so text order is time order."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def values(event: ContactEvent, occurred: object) -> tuple:
    return (
        event.id,
        event.project_id,
        event.email_key,
        event.name,
        occurred,
        json.dumps(event.properties, separators=(",", ":")),
        event.campaign_id,
        event.email_id,
    )


def event_row(row: tuple) -> ContactEvent:
    eid, project_id, email_key, name, occurred, properties, campaign_id, email_id = row
    at = occurred if isinstance(occurred, datetime) else datetime.fromisoformat(occurred)
    data = json.loads(properties) if isinstance(properties, str) else properties
    return ContactEvent(eid, project_id, email_key, name, at, data, campaign_id, email_id)

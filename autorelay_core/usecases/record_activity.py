"""What contacts did: events a project records (POST /events) and a contact's timeline."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from attrs import frozen

from autorelay_core.domain.activity import UNSUBSCRIBED, ContactEvent, check_name, check_properties
from autorelay_core.domain.addresses import check_address
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.contacts import Contact, email_key
from autorelay_core.errors import Invalid
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found
from autorelay_core.usecases.journey_entry import event_happened

# A clock a little ahead of ours is a clock, not a wish to record the future.
FUTURE_SLACK = timedelta(minutes=5)
TIMELINE = 50


@frozen
class EventInput:
    name: Any = None
    email: Any = None
    contact_id: Any = None
    properties: Any = None
    occurred_at: datetime | None = None


async def record_contact_event(deps: Deps, caller: Caller, fields: EventInput) -> ContactEvent:
    """Record that a person did something. By `email` (the address need not be a contact yet: the
    events are theirs once it is) or by `contactId` (its address); one of the two."""
    name = check_name(fields.name)
    if (fields.email is None) == (fields.contact_id is None):
        raise Invalid("give the contact's email or its contactId (one of them)", field="email")
    if fields.contact_id is not None:
        contact = await _contact(deps, caller, fields.contact_id)
        person = contact.email_key
    else:
        person = email_key(check_address(fields.email, "email"))
    now = deps.clock.now()
    occurred = fields.occurred_at or now
    if occurred > now + FUTURE_SLACK:
        raise Invalid("occurredAt is in the future", field="occurredAt")
    event = ContactEvent(
        id=deps.ids.new("cev"),
        project_id=caller.project_id,
        email_key=person,
        name=name,
        occurred_at=occurred,
        properties=check_properties(fields.properties),
    )
    await deps.storage.contact_events.add(event)
    await event_happened(deps, event)  # the journeys it triggers, ends or lets go on
    return event


async def _contact(deps: Deps, caller: Caller, contact_id: Any) -> Contact:
    if not isinstance(contact_id, str) or not contact_id:
        raise Invalid("contactId must be a contact's id", field="contactId")
    return found(await deps.storage.contacts.get(caller.project_id, contact_id), f"contact {contact_id}")


async def contact_timeline(
    deps: Deps, caller: Caller, contact_id: str, limit: int = TIMELINE, before: datetime | None = None
) -> list[ContactEvent]:
    """The contact's events (its address's, in this project), newest first."""
    contact = await _contact(deps, caller, contact_id)
    return await deps.storage.contact_events.timeline(caller.project_id, contact.email_key, limit, before)


async def record_unsubscribed(
    deps: Deps, project_id: str, contact_id: str, campaign_id: str | None, details: dict[str, Any] | None = None
) -> None:
    """A contact left through a campaign's link: an event of its stream (engagement, like a click).
    `details`: what it left, when not its list ({"topic": id}, {"everything": true})."""
    contact = await deps.storage.contacts.get(project_id, contact_id)
    if contact is None:
        return
    await deps.storage.contact_events.add(
        ContactEvent(
            id=deps.ids.new("cev"),
            project_id=project_id,
            email_key=contact.email_key,
            name=UNSUBSCRIBED,
            occurred_at=deps.clock.now(),
            properties=details or {},
            campaign_id=campaign_id or None,
        )
    )

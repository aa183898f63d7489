"""/events: what contacts did (additive to the reference), and a contact's timeline."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json, structure
from adapters.http.responses import JSON, iso
from adapters.http.routing import resource
from autorelay_core.domain.activity import ContactEvent
from autorelay_core.policies.pagination import parse_bounded_int
from autorelay_core.usecases import record_activity as uc


def event_view(event: ContactEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "name": event.name,
        "email": event.email_key,
        "occurredAt": iso(event.occurred_at),
        "properties": event.properties,
        "campaignId": event.campaign_id,
    }


@requires("contacts.write")
async def record_event(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), uc.EventInput)
    event = await uc.record_contact_event(deps_of(request), caller_of(request), fields)
    return JSON(event_view(event), status_code=201)


@requires("contacts.read")
async def contact_events(request: Request) -> Response:
    limit = parse_bounded_int(request.query_params.get("limit"), "limit", default=uc.TIMELINE, low=1, high=100)
    found = await uc.contact_timeline(deps_of(request), caller_of(request), request.path_params["contact_id"], limit)
    return JSON({"success": True, "data": [event_view(e) for e in found]})


routes = [
    resource("/api/v1/events", POST=record_event),
    resource("/api/v1/contacts/{contact_id}/events", GET=contact_events),
]

"""Journeys at /app/journeys: the list with who is in each, and the builder (a vertical list of
steps with their branches, each with its figures), enable and pause, and a test run of one
contact on a fast clock shown as a timeline."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.dashboard.pages import caller_of, deps_of, form_value, missing, or_none, page, render
from autorelay_core.domain.journeys import Journey
from autorelay_core.errors import Conflict, Invalid, NotFound
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.usecases import (
    manage_contacts,
    manage_journeys,
    manage_properties,
    manage_segments,
    manage_templates,
    manage_topics,
    manage_webhooks,
)
from autorelay_core.usecases.journey_preview import dry_run, supposed_events
from autorelay_core.usecases.manage_contacts import ContactQuery
from autorelay_core.usecases.manage_users import Visit

STARTER = {
    "trigger": {"type": "event", "event": "signed_up"},
    "entry": {"rule": "once"},
    "goal": None,
    "steps": [{"id": "s1", "type": "wait", "hours": 1}],
}


def _json(value: Any) -> str:
    """JSON for a <script type="application/json">: no "</script>" can end it early."""
    return json.dumps(value).replace("<", "\\u003c")


@page()
async def listing(request: Request, visit: Visit) -> Response:
    deps, caller = deps_of(request), caller_of(visit)
    found = await manage_journeys.list_journeys(deps, caller)
    figures = {}
    for journey in found:
        stats = await manage_journeys.journey_stats(deps, caller, journey.id)
        figures[journey.id] = (sum(v.entered for v in stats), sum(v.active for v in stats))
    return render(request, "journeys.html", nav="campaigns", journeys=found, figures=figures)


async def _choices(request: Request, visit: Visit) -> dict[str, Any]:
    """What the builder offers: the project's lists, segments, templates, topics, webhooks and
    properties, by id and name."""
    deps, caller = deps_of(request), caller_of(visit)
    named = lambda items: [{"id": i.id, "name": i.name} for i in items]  # noqa: E731
    return {
        "lists": named(await manage_contacts.all_lists(deps, caller)),
        "segments": named(await manage_segments.list_segments(deps, caller)),
        "templates": named(await manage_templates.list_templates(deps, caller)),
        "topics": named(await manage_topics.list_topics(deps, caller)),
        "webhooks": [{"id": w.id, "name": w.url} for w in await manage_webhooks.list_webhooks(deps, caller)],
        "properties": [
            {"key": p.key, "type": p.type.value} for p in await manage_properties.list_properties(deps, caller)
        ],
    }


async def _builder(
    request: Request, visit: Visit, journey: Journey | None, status: int = 200, **extra: Any
) -> Response:
    deps, caller = deps_of(request), caller_of(visit)
    stats = await manage_journeys.journey_stats(deps, caller, journey.id) if journey else []
    # A draft has no figures yet: its steps show none rather than rows of zeros.
    current = next((v for v in stats if journey and journey.enabled_at and v.version == journey.version), None)
    steps = {
        s.step_id: {"passed": s.passed, "waiting": s.waiting, "exited": s.exited, "sent": s.sent, "opened": s.opened,
                    "clicked": s.clicked}
        for s in (current.steps if current else ())
    }  # fmt: skip
    definition = extra.pop("definition", None) or (journey.definition if journey else STARTER)
    return render(
        request,
        "journey.html",
        status,
        nav="campaigns",
        journey=journey,
        stats=stats,
        definition_text=definition if isinstance(definition, str) else json.dumps(definition, indent=2),
        builder_data=_json({**await _choices(request, visit), "stats": steps}),
        **extra,
    )


def _fields(request: Request) -> manage_journeys.JourneyInput:
    text = form_value(request, "definition")
    try:
        definition = json.loads(text)
    except ValueError as error:
        raise Invalid(f"The journey is not valid JSON: {error}", field="definition") from None
    return manage_journeys.JourneyInput(name=form_value(request, "name"), definition=definition)


@page()
async def new(request: Request, visit: Visit) -> Response:
    return await _builder(request, visit, None)


@page()
async def create(request: Request, visit: Visit) -> Response:
    try:
        made = await manage_journeys.create_journey(deps_of(request), caller_of(visit), _fields(request))
    except (Invalid, Conflict, NotFound) as error:
        text = form_value(request, "definition")
        return await _builder(
            request, visit, None, 400, error=error.message, definition=text, name=form_value(request, "name")
        )
    return RedirectResponse(f"/app/journeys/{made.id}?done=saved", status_code=303)


async def _journey(request: Request, visit: Visit) -> Journey | None:
    return await or_none(
        manage_journeys.get_journey(deps_of(request), caller_of(visit), request.path_params["journey_id"])
    )


_NOTICES = {
    "saved": "Saved.",
    "enabled": "Enabled: contacts enter as the trigger says.",
    "paused": "Paused: nobody enters or moves until you enable it again.",
}


@page()
async def detail(request: Request, visit: Visit) -> Response:
    journey = await _journey(request, visit)
    if journey is None:
        return missing(request, "journey")
    return await _builder(request, visit, journey, notice=_NOTICES.get(request.query_params.get("done", "")))


@page()
async def update(request: Request, visit: Visit) -> Response:
    journey = await _journey(request, visit)
    if journey is None:
        return missing(request, "journey")
    try:
        await manage_journeys.update_journey(deps_of(request), caller_of(visit), journey.id, _fields(request))
    except (Invalid, Conflict, NotFound) as error:
        text = form_value(request, "definition")
        return await _builder(request, visit, journey, 400, error=error.message, definition=text)
    return RedirectResponse(f"/app/journeys/{journey.id}?done=saved", status_code=303)


async def _switch(request: Request, visit: Visit, enable: bool) -> Response:
    journey = await _journey(request, visit)
    if journey is None:
        return missing(request, "journey")
    change = manage_journeys.enable_journey if enable else manage_journeys.pause_journey
    try:
        await change(deps_of(request), caller_of(visit), journey.id)
    except (Invalid, Conflict, NotFound) as error:
        return await _builder(request, visit, journey, 400, error=error.message)
    return RedirectResponse(f"/app/journeys/{journey.id}?done={'enabled' if enable else 'paused'}", status_code=303)


@page()
async def enable(request: Request, visit: Visit) -> Response:
    return await _switch(request, visit, True)


@page()
async def pause(request: Request, visit: Visit) -> Response:
    return await _switch(request, visit, False)


@page()
async def delete(request: Request, visit: Visit) -> Response:
    journey = await _journey(request, visit)
    if journey is None:
        return missing(request, "journey")
    try:
        await manage_journeys.delete_journey(deps_of(request), caller_of(visit), journey.id)
    except Conflict as error:
        return await _builder(request, visit, journey, 409, error=error.message)
    return RedirectResponse("/app/journeys", status_code=303)


@page()
async def test_run(request: Request, visit: Visit) -> Response:
    """The timeline of one contact on a fast clock: a fragment the page swaps in."""
    deps, caller = deps_of(request), caller_of(visit)
    try:
        definition = json.loads(form_value(request, "definition"))
        contact = await _contact_by_email(request, visit, form_value(request, "email").strip())
        events = supposed_events(_event_lines(form_value(request, "events")))
        start = deps.clock.now()
        timeline = await dry_run(deps, caller, definition, contact.id, events, start)
    except ValueError:
        return render(request, "journey_test.html", problem="The journey is not valid JSON yet.")
    except (Invalid, NotFound) as error:
        return render(request, "journey_test.html", problem=error.message)
    return render(request, "journey_test.html", timeline=timeline, contact=contact, start=start)


async def _contact_by_email(request: Request, visit: Visit, address: str) -> Any:
    deps, caller = deps_of(request), caller_of(visit)
    if not address:
        raise Invalid("Give the email address of one of your contacts", field="email")
    for found_list in await manage_contacts.all_lists(deps, caller):
        page_ = await manage_contacts.contacts_page(
            deps, caller, ContactQuery(found_list.id, search=address), OffsetRequest(1, 5)
        )
        for contact in page_.items:
            if contact.email.lower() == address.lower():
                return contact
    raise NotFound(f"No contact has the address {address}")


def _event_lines(text: str) -> list[dict[str, Any]]:
    """ "activated after 20 hours" lines, as `name hours` pairs: "activated 20"."""
    found = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        try:
            hours = float(words[1]) if len(words) > 1 else 0.0
        except ValueError:
            raise Invalid(f"Write each event as its name and after how many hours: {line.strip()!r}") from None
        found.append({"name": words[0], "hours": hours})
    return found


routes = [
    Route("/journeys", listing, methods=["GET"]),
    Route("/journeys/new", new, methods=["GET"]),
    Route("/journeys", create, methods=["POST"]),
    Route("/journeys/test-run", test_run, methods=["POST"]),
    Route("/journeys/{journey_id}", detail, methods=["GET"]),
    Route("/journeys/{journey_id}", update, methods=["POST"]),
    Route("/journeys/{journey_id}/enable", enable, methods=["POST"]),
    Route("/journeys/{journey_id}/pause", pause, methods=["POST"]),
    Route("/journeys/{journey_id}/delete", delete, methods=["POST"]),
]

"""/journeys: automations that take contacts through steps after a trigger (additive to the
reference). A journey's body is its definition (trigger, entry, goal, steps) beside its name."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json
from adapters.http.responses import JSON, iso
from adapters.http.routing import resource
from autorelay_core.domain.journeys import Journey, JourneyRun, StepRecord, VersionStats
from autorelay_core.errors import Invalid
from autorelay_core.policies.pagination import parse_bounded_int
from autorelay_core.usecases import manage_journeys as uc
from autorelay_core.usecases.journey_entry import enter_by_call

_DEFINITION = ("trigger", "entry", "goal", "steps")


def journey_view(journey: Journey) -> dict[str, Any]:
    return {
        "id": journey.id,
        "name": journey.name,
        "status": journey.status.value,
        "version": journey.version,
        "mode": "test" if journey.test else "live",
        **{key: journey.definition.get(key) for key in _DEFINITION},
        "createdAt": iso(journey.created_at),
        "updatedAt": iso(journey.updated_at),
        "enabledAt": iso(journey.enabled_at) if journey.enabled_at else None,
    }


def stats_view(found: VersionStats) -> dict[str, Any]:
    return {
        "version": found.version,
        "entered": found.entered,
        "active": found.active,
        "done": found.done,
        "exited": found.exited,
        "steps": [
            {
                "id": s.step_id,
                "passed": s.passed,
                "waiting": s.waiting,
                "exited": s.exited,
                "sent": s.sent,
                "opened": s.opened,
                "clicked": s.clicked,
                "outcomes": s.outcomes,
            }
            for s in found.steps
        ],
    }


def run_view(run: JourneyRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "journeyId": run.journey_id,
        "version": run.version,
        "contactId": run.contact_id,
        "state": run.state.value,
        "stepId": run.step_id,
        "dueAt": iso(run.due_at) if run.state.value == "active" else None,
        "waitingFor": run.waiting_event,
        "enteredAt": iso(run.entered_at),
        "endedAt": iso(run.ended_at) if run.ended_at else None,
        "exitReason": run.exit_reason,
    }


def record_view(record: StepRecord) -> dict[str, Any]:
    return {
        "stepId": record.step_id,
        "at": iso(record.at),
        "outcome": record.outcome,
        "detail": record.detail,
        "emailId": record.email_id,
    }


def _input(body: Any, *, creating: bool) -> uc.JourneyInput:
    if not isinstance(body, dict):
        raise Invalid("the request body must be a JSON object: name, trigger, entry, goal, steps")
    unknown = sorted(set(body) - {"name", *_DEFINITION})
    if unknown:
        raise Invalid(
            f"unknown field {unknown[0]!r}: a journey has name, trigger, entry, goal and steps", field=unknown[0]
        )
    given = {key: body[key] for key in _DEFINITION if key in body}
    if creating:
        return uc.JourneyInput(body.get("name"), given)
    return uc.JourneyInput(body.get("name"), given or None)


@requires("campaigns.write")
async def create_journey(request: Request) -> Response:
    fields = _input(parse_json(await request.body()), creating=True)
    journey = await uc.create_journey(deps_of(request), caller_of(request), fields)
    return JSON(journey_view(journey), status_code=201)


@requires("campaigns.read")
async def list_journeys(request: Request) -> Response:
    found = await uc.list_journeys(deps_of(request), caller_of(request))
    return JSON({"success": True, "data": [journey_view(j) for j in found]})


@requires("campaigns.read")
async def read_journey(request: Request) -> Response:
    journey = await uc.get_journey(deps_of(request), caller_of(request), request.path_params["journey_id"])
    return JSON({"success": True, "data": journey_view(journey)})


@requires("campaigns.write")
async def update_journey(request: Request) -> Response:
    fields = _input(parse_json(await request.body()), creating=False)
    journey = await uc.update_journey(deps_of(request), caller_of(request), request.path_params["journey_id"], fields)
    return JSON({"success": True, "data": journey_view(journey)})


@requires("campaigns.write")
async def delete_journey(request: Request) -> Response:
    await uc.delete_journey(deps_of(request), caller_of(request), request.path_params["journey_id"])
    return JSON({"success": True})


@requires("campaigns.write")
async def enable_journey(request: Request) -> Response:
    journey = await uc.enable_journey(deps_of(request), caller_of(request), request.path_params["journey_id"])
    return JSON({"success": True, "data": journey_view(journey)})


@requires("campaigns.write")
async def pause_journey(request: Request) -> Response:
    journey = await uc.pause_journey(deps_of(request), caller_of(request), request.path_params["journey_id"])
    return JSON({"success": True, "data": journey_view(journey)})


@requires("campaigns.read")
async def journey_stats(request: Request) -> Response:
    found = await uc.journey_stats(deps_of(request), caller_of(request), request.path_params["journey_id"])
    return JSON({"success": True, "data": [stats_view(v) for v in found]})


@requires("campaigns.read")
async def journey_version(request: Request) -> Response:
    number = parse_bounded_int(request.path_params["version"], "version", default=1, low=1, high=10**6)
    version = await uc.journey_version(deps_of(request), caller_of(request), request.path_params["journey_id"], number)
    data = {"version": version.version, "createdAt": iso(version.created_at), **version.definition}
    return JSON({"success": True, "data": data})


@requires("campaigns.write")
async def enter_journey(request: Request) -> Response:
    body = parse_json(await request.body())
    if not isinstance(body, dict) or not set(body) <= {"email", "contactId"}:
        raise Invalid('the body must be {"email": ...} or {"contactId": ...}')
    run = await enter_by_call(
        deps_of(request),
        caller_of(request),
        request.path_params["journey_id"],
        body.get("email"),
        body.get("contactId"),
    )
    return JSON(run_view(run), status_code=201)


@requires("contacts.read")
async def contact_journeys(request: Request) -> Response:
    found = await uc.contact_paths(deps_of(request), caller_of(request), request.path_params["contact_id"])
    data = [
        {
            **run_view(path.run),
            "journey": path.journey.name if path.journey else None,
            "steps": [record_view(r) for r in path.records],
        }
        for path in found
    ]
    return JSON({"success": True, "data": data})


routes = [
    resource("/api/v1/journeys", GET=list_journeys, POST=create_journey),
    resource("/api/v1/journeys/{journey_id}", GET=read_journey, PATCH=update_journey, DELETE=delete_journey),
    resource("/api/v1/journeys/{journey_id}/enable", POST=enable_journey),
    resource("/api/v1/journeys/{journey_id}/pause", POST=pause_journey),
    resource("/api/v1/journeys/{journey_id}/stats", GET=journey_stats),
    resource("/api/v1/journeys/{journey_id}/versions/{version}", GET=journey_version),
    resource("/api/v1/journeys/{journey_id}/enter", POST=enter_journey),
    resource("/api/v1/contacts/{contact_id}/journeys", GET=contact_journeys),
]

"""/segments: saved filters over contacts, their live count and sample (additive to the reference)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json, structure
from adapters.http.responses import JSON, iso
from adapters.http.routes.contacts import contact_view
from adapters.http.routing import resource
from autorelay_core.domain.segments import Segment
from autorelay_core.policies.pagination import parse_bounded_int
from autorelay_core.usecases import manage_segments as uc


def segment_view(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.id,
        "name": segment.name,
        "filter": segment.filter,
        "createdAt": iso(segment.created_at),
        "updatedAt": iso(segment.updated_at),
    }


def matches_view(found: uc.Matches) -> dict[str, Any]:
    return {"count": found.count, "contacts": [contact_view(c) for c in found.sample]}


def _sample(request: Request) -> int:
    return parse_bounded_int(request.query_params.get("limit"), "limit", default=uc.SAMPLE, low=0, high=100)


@requires("contacts.write")
async def create_segment(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), uc.SegmentInput)
    segment = await uc.create_segment(deps_of(request), caller_of(request), fields)
    return JSON(segment_view(segment), status_code=201)


@requires("contacts.read")
async def list_segments(request: Request) -> Response:
    found = await uc.list_segments(deps_of(request), caller_of(request))
    return JSON({"success": True, "data": [segment_view(s) for s in found]})


@requires("contacts.read")
async def read_segment(request: Request) -> Response:
    segment = await uc.get_segment(deps_of(request), caller_of(request), request.path_params["segment_id"])
    return JSON({"success": True, "data": segment_view(segment)})


@requires("contacts.write")
async def update_segment(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), uc.SegmentInput)
    segment = await uc.update_segment(deps_of(request), caller_of(request), request.path_params["segment_id"], fields)
    return JSON({"success": True, "data": segment_view(segment)})


@requires("contacts.write")
async def delete_segment(request: Request) -> Response:
    await uc.delete_segment(deps_of(request), caller_of(request), request.path_params["segment_id"])
    return JSON({"success": True})


@requires("contacts.read")
async def segment_contacts(request: Request) -> Response:
    found = await uc.segment_matches(
        deps_of(request), caller_of(request), request.path_params["segment_id"], _sample(request)
    )
    return JSON({"success": True, "data": matches_view(found)})


@requires("contacts.read")
async def preview(request: Request) -> Response:
    body = parse_json(await request.body())
    tree = body.get("filter") if isinstance(body, dict) else None
    found = await uc.preview(deps_of(request), caller_of(request), tree, _sample(request))
    return JSON({"success": True, "data": matches_view(found)})


routes = [
    resource("/api/v1/segments", GET=list_segments, POST=create_segment),
    resource("/api/v1/segments/preview", POST=preview),
    resource(
        "/api/v1/segments/{segment_id}",
        GET=read_segment,
        PUT=update_segment,
        PATCH=update_segment,
        DELETE=delete_segment,
    ),
    resource("/api/v1/segments/{segment_id}/contacts", GET=segment_contacts),
]

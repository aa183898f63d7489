"""Segments at /app/segments: the saved ones with their live counts, and the builder (rows of
conditions, or the filter's JSON) with the count and a sample of who matches as it changes."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.dashboard.pages import caller_of, deps_of, form_value, missing, or_none, page, render
from autorelay_core.domain.contacts import ContactStatus
from autorelay_core.domain.segments import Segment
from autorelay_core.errors import Conflict, Invalid
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.usecases import manage_campaigns, manage_contacts, manage_properties, manage_segments, manage_topics
from autorelay_core.usecases.manage_segments import SegmentInput
from autorelay_core.usecases.manage_users import Visit


@page()
async def listing(request: Request, visit: Visit) -> Response:
    found = await manage_segments.list_segments(deps_of(request), caller_of(visit))
    return render(request, "segments.html", nav="contacts", segments=found)


async def _builder(
    request: Request, visit: Visit, segment: Segment | None, status: int = 200, **extra: Any
) -> Response:
    deps, caller = deps_of(request), caller_of(visit)
    properties = await manage_properties.list_properties(deps, caller)
    lists = await manage_contacts.all_lists(deps, caller)
    campaigns = await manage_campaigns.list_campaigns(deps, caller, None, OffsetRequest(1, 100))
    data = {
        "properties": [{"key": p.key, "type": p.type.value} for p in properties],
        "lists": [{"id": item.id, "name": item.name} for item in lists],
        "topics": [{"id": t.id, "name": t.name} for t in await manage_topics.list_topics(deps, caller)],
        "campaigns": [{"id": c.id, "name": c.name} for c in campaigns.items if c.status.value != "draft"],
        "statuses": [s.value for s in ContactStatus],
    }
    tree = extra.pop("filter_text", None)
    if tree is None:
        tree = json.dumps(segment.filter, indent=2) if segment else ""
    return render(
        request,
        "segment.html",
        status,
        nav="contacts",
        segment=segment,
        filter_text=tree,
        builder_data=json.dumps(data).replace("<", "\\u003c"),
        **extra,
    )


@page()
async def new(request: Request, visit: Visit) -> Response:
    return await _builder(request, visit, None)


def _fields(request: Request) -> tuple[SegmentInput, str]:
    text = form_value(request, "filter")
    try:
        tree = json.loads(text) if text.strip() else None
    except ValueError as error:
        raise Invalid(f"The filter is not valid JSON: {error}", field="filter") from None
    return SegmentInput(name=form_value(request, "name"), filter=tree), text


@page()
async def create(request: Request, visit: Visit) -> Response:
    text = form_value(request, "filter")
    try:
        fields, text = _fields(request)
        made = await manage_segments.create_segment(deps_of(request), caller_of(visit), fields)
    except (Invalid, Conflict) as error:
        return await _builder(
            request, visit, None, 400, error=error.message, filter_text=text, name=form_value(request, "name")
        )
    return RedirectResponse(f"/app/segments/{made.id}?done=saved", status_code=303)


async def _segment(request: Request, visit: Visit) -> Segment | None:
    return await or_none(
        manage_segments.get_segment(deps_of(request), caller_of(visit), request.path_params["segment_id"])
    )


@page()
async def detail(request: Request, visit: Visit) -> Response:
    segment = await _segment(request, visit)
    if segment is None:
        return missing(request, "segment")
    notice = "Saved." if request.query_params.get("done") == "saved" else None
    return await _builder(request, visit, segment, notice=notice)


@page()
async def update(request: Request, visit: Visit) -> Response:
    segment = await _segment(request, visit)
    if segment is None:
        return missing(request, "segment")
    text = form_value(request, "filter")
    try:
        fields, text = _fields(request)
        await manage_segments.update_segment(deps_of(request), caller_of(visit), segment.id, fields)
    except (Invalid, Conflict) as error:
        return await _builder(request, visit, segment, 400, error=error.message, filter_text=text)
    return RedirectResponse(f"/app/segments/{segment.id}?done=saved", status_code=303)


@page()
async def delete(request: Request, visit: Visit) -> Response:
    segment = await _segment(request, visit)
    if segment is None:
        return missing(request, "segment")
    await manage_segments.delete_segment(deps_of(request), caller_of(visit), segment.id)
    return RedirectResponse("/app/segments", status_code=303)


@page()
async def preview(request: Request, visit: Visit) -> Response:
    """The live count and sample: a fragment the builder swaps in (a broken filter says why)."""
    try:
        fields, _ = _fields(request)
        found = await manage_segments.preview(deps_of(request), caller_of(visit), fields.filter)
    except Invalid as error:
        return render(request, "segment_preview.html", problem=error.message)
    return render(request, "segment_preview.html", found=found)


@page()
async def count(request: Request, visit: Visit) -> Response:
    segment = await _segment(request, visit)
    if segment is None:
        return Response(status_code=404)
    try:
        found = await manage_segments.segment_matches(deps_of(request), caller_of(visit), segment.id, 0)
    except Invalid:  # a property it names was removed since
        return Response('<span class="help">needs editing</span>', media_type="text/html")
    return Response(f"{found.count:,}", media_type="text/plain")


routes = [
    Route("/segments", listing, methods=["GET"]),
    Route("/segments/new", new, methods=["GET"]),
    Route("/segments", create, methods=["POST"]),
    Route("/segments/preview", preview, methods=["POST"]),
    Route("/segments/{segment_id}", detail, methods=["GET"]),
    Route("/segments/{segment_id}", update, methods=["POST"]),
    Route("/segments/{segment_id}/delete", delete, methods=["POST"]),
    Route("/segments/{segment_id}/count", count, methods=["GET"]),
]

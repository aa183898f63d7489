"""/suppressions: the addresses this project will not mail again, and lifting one (API-DECISIONS)."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.responses import JSON, iso
from adapters.http.routing import resource
from autorelay_core.domain.addresses import is_valid_address
from autorelay_core.errors import Invalid
from autorelay_core.policies.pagination import parse_bounded_int
from autorelay_core.usecases import manage_suppressions


@requires("emails.read")
async def list_suppressions(request: Request) -> Response:
    query = request.query_params
    limit = parse_bounded_int(query.get("limit"), "limit", default=50, low=1, high=100)
    after = (query.get("cursor") or "").lower() or None
    if after is not None and not is_valid_address(after):
        raise Invalid("cursor must be the next_cursor of an earlier page (an email address)", field="cursor")
    found = await manage_suppressions.suppression_page(deps_of(request), caller_of(request), limit + 1, after)
    page = found[:limit]
    return JSON(
        {
            "data": [
                {"email": s.email, "reason": s.reason.value, "detail": s.detail, "createdAt": iso(s.created_at)}
                for s in page
            ],
            "has_more": len(found) > limit,
            "next_cursor": page[-1].email_key if len(found) > limit else None,
        }
    )


@requires("emails.send")
async def lift_suppression(request: Request) -> Response:
    address = unquote(request.path_params["email"])
    lifted = await manage_suppressions.lift_suppression(deps_of(request), caller_of(request), address)
    return JSON({"email": lifted, "deleted": True})


routes = [
    resource("/api/v1/suppressions", GET=list_suppressions),
    resource("/api/v1/suppressions/{email}", DELETE=lift_suppression),
]

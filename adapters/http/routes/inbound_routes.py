"""/inbound-routes: what happens to mail for an address of the project's receiving domains
(domain/inbound_routes.py), and /domains/:id/dmarc: the DMARC aggregate reports' figures."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json
from adapters.http.responses import JSON, iso
from adapters.http.routing import resource
from autorelay_core.domain.inbound_routes import InboundRoute
from autorelay_core.errors import Invalid
from autorelay_core.usecases import inbound_routes as uc
from autorelay_core.usecases.dmarc_reports import dmarc_summary

# The body's names and the core's.
_FIELDS = {
    "match": "match",
    "pattern": "pattern",
    "action": "action",
    "webhookId": "webhook_id",
    "forwardTo": "forward_to",
    "forwardFrom": "forward_from",
    "smtpCode": "smtp_code",
    "smtpMessage": "smtp_message",
}


def route_view(route: InboundRoute) -> dict[str, Any]:
    view: dict[str, Any] = {"id": route.id, "object": "inbound_route", "match": route.match}
    view |= {"pattern": route.pattern, "action": route.action}
    if route.action == "webhook":
        view["webhookId"] = route.webhook_id or None
    elif route.action == "forward":
        view |= {"forwardTo": route.forward_to, "forwardFrom": route.forward_from}
    elif route.action == "reject":
        view |= {"smtpCode": route.smtp_code, "smtpMessage": route.smtp_message}
    return view | {"createdAt": iso(route.created_at)}


@requires("inbound.write")
async def add_route(request: Request) -> Response:
    body = parse_json(await request.body())
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object with match, pattern and action")
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise Invalid(f"unknown field {unknown[0]!r}; a route has {', '.join(_FIELDS)}", field=unknown[0])
    given = uc.RouteInput(**{_FIELDS[name]: value for name, value in body.items()})
    route = await uc.add_route(deps_of(request), caller_of(request), given)
    return JSON(route_view(route), status_code=201)


@requires("inbound.read")
async def list_routes(request: Request) -> Response:
    found = await uc.routes(deps_of(request), caller_of(request))
    return JSON({"object": "list", "data": [route_view(r) for r in found]})


@requires("inbound.write")
async def delete_route(request: Request) -> Response:
    route_id = request.path_params["route_id"]
    await uc.delete_route(deps_of(request), caller_of(request), route_id)
    return JSON({"object": "inbound_route", "id": route_id, "deleted": True})


@requires("domains.write")
async def dmarc(request: Request) -> Response:
    summary = await dmarc_summary(deps_of(request), caller_of(request), request.path_params["domain_id"])
    authorisation = None
    if summary.authorisation_name:
        authorisation = {"type": "TXT", "name": summary.authorisation_name, "value": summary.authorisation_value}
    return JSON(
        {
            "object": "dmarc_summary",
            "reports": summary.reports,
            "record": summary.record,
            "authorisation_record": authorisation,
            "sources": [
                {
                    "day": row.day.isoformat(),
                    "source_ip": row.source_ip,
                    "messages": row.messages,
                    "passed": row.passed,
                    "failed": row.failed,
                    "standing": row.standing,
                    "reporters": list(row.reporters),
                }
                for row in summary.figures
            ],
        }
    )


routes = [
    resource("/api/v1/inbound-routes", GET=list_routes, POST=add_route),
    resource("/api/v1/inbound-routes/{route_id}", DELETE=delete_route),
    resource("/api/v1/domains/{domain_id}/dmarc", GET=dmarc),
]

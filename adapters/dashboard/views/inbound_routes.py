"""Routes of received mail (list; make and remove: owners only, as a route can send strangers' mail
to a URL or an address, like a webhook), and a sending domain's DMARC reports: the record to
publish and what the reports of the last 30 days say, per day and source."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.dashboard.pages import caller_of, deps_of, form_value, page, render
from autorelay_core.domain.inbound_routes import in_order
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.usecases import inbound_routes as uc
from autorelay_core.usecases import manage_domains
from autorelay_core.usecases.dmarc_reports import SHOWN_DAYS, dmarc_summary
from autorelay_core.usecases.manage_users import Visit
from autorelay_core.usecases.manage_webhooks import list_webhooks
from autorelay_core.usecases.receive_mail import receiving_domains

_FORM = ("match", "pattern", "action", "webhook_id", "forward_to", "forward_from", "smtp_code", "smtp_message")


async def _routes_page(request: Request, visit: Visit, status: int = 200, **extra: object) -> Response:
    deps, caller = deps_of(request), caller_of(visit)
    hooks = await list_webhooks(deps, caller)
    return render(
        request,
        "inbound_routes.html",
        status,
        nav="emails",
        routes=in_order(await uc.routes(deps, caller)),
        hooks={h.id: h for h in hooks},
        domains=await receiving_domains(deps, caller),
        **extra,
    )


@page()
async def routes_page(request: Request, visit: Visit) -> Response:
    return await _routes_page(request, visit)


@page(owner=True)
async def add(request: Request, visit: Visit) -> Response:
    given = {name: form_value(request, name) for name in _FORM}
    code = given["smtp_code"]
    try:
        route = uc.RouteInput(**(given | {"smtp_code": int(code) if code.isdigit() else (code or None)}))
        await uc.add_route(deps_of(request), caller_of(visit), route)
    except Invalid as error:
        return await _routes_page(request, visit, 400, error=error.message, given=given)
    return RedirectResponse("/app/inbound/routes", status_code=303)


@page(owner=True)
async def remove(request: Request, visit: Visit) -> Response:
    try:
        await uc.delete_route(deps_of(request), caller_of(visit), request.path_params["route_id"])
    except NotFound as error:
        return await _routes_page(request, visit, 404, error=error.message)
    return RedirectResponse("/app/inbound/routes", status_code=303)


@page()
async def dmarc(request: Request, visit: Visit) -> Response:
    deps, caller = deps_of(request), caller_of(visit)
    domain_id = request.path_params["domain_id"]
    try:
        domain = await manage_domains.get_domain(deps, caller, domain_id)
        summary = await dmarc_summary(deps, caller, domain_id)
    except NotFound as error:
        return render(request, "error.html", 404, title="No such domain", message=error.message)
    return render(request, "dmarc.html", nav="domains", domain=domain, summary=summary, days=SHOWN_DAYS)


routes = [
    Route("/inbound/routes", routes_page, methods=["GET"]),
    Route("/inbound/routes", add, methods=["POST"]),
    Route("/inbound/routes/{route_id}/delete", remove, methods=["POST"]),
    Route("/domains/{domain_id}/dmarc", dmarc, methods=["GET"]),
]

"""Received mail beside the email log: the receiving domains (add, remove, the MX to publish), the
messages received, newest first, and one message's envelope, authentication results, the email it
answers, attachments, text, HTML (in a sandboxed frame), headers and raw message."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.dashboard.pages import STRANGER_POLICY, caller_of, deps_of, form_value, page, render, sandboxed
from autorelay_core.errors import Conflict, Invalid, NotFound
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.ports.inbound import InboundFilter
from autorelay_core.usecases import receive_mail as uc
from autorelay_core.usecases.manage_users import Visit

PAGE_SIZE = 50


async def _log(request: Request, visit: Visit, status: int = 200, **extra: object) -> Response:
    deps, caller = deps_of(request), caller_of(visit)
    query = request.query_params
    where = InboundFilter(sender=query.get("from", "")[:320], subject=query.get("subject", "")[:320])
    try:
        found, more = await uc.list_received(deps, caller, CursorRequest(PAGE_SIZE, after=query.get("after")), where)
    except Invalid as error:
        return render(request, "error.html", 400, title="Bad filter", message=error.message)
    domains = [(d, uc.mx_records(deps, d)) for d in await uc.receiving_domains(deps, caller)]
    after = found[-1].id if more and found else None
    kept = {k: v for k, v in (("from", where.sender), ("subject", where.subject)) if v}
    return render(
        request,
        "inbound.html",
        status,
        nav="emails",
        messages=found,
        domains=domains,
        sender=where.sender,
        subject=where.subject,
        filtered=bool(kept),
        next_query=urlencode(kept | {"after": after}) if after else None,
        **extra,
    )


@page()
async def log(request: Request, visit: Visit) -> Response:
    return await _log(request, visit)


@page()
async def add_domain(request: Request, visit: Visit) -> Response:
    name = form_value(request, "name")
    try:
        await uc.add_receiving_domain(deps_of(request), caller_of(visit), name)
    except (Invalid, Conflict) as error:
        return await _log(request, visit, 400, error=error.message, name=name)
    return RedirectResponse("/app/inbound", status_code=303)


@page()
async def remove_domain(request: Request, visit: Visit) -> Response:
    try:
        await uc.delete_receiving_domain(deps_of(request), caller_of(visit), request.path_params["domain_id"])
    except NotFound as error:
        return await _log(request, visit, 404, error=error.message)
    return RedirectResponse("/app/inbound", status_code=303)


@page()
async def detail(request: Request, visit: Visit) -> Response:
    deps = deps_of(request)
    try:
        message = await uc.get_received(deps, caller_of(visit), request.path_params["message_id"])
    except NotFound as error:
        return render(request, "error.html", 404, title="No such email", message=error.message)
    view = uc.received_view(deps, message, deps.clock.now())
    return render(request, "inbound_message.html", nav="emails", message=message, view=view)


@page()
async def delete(request: Request, visit: Visit) -> Response:
    try:
        await uc.delete_received(deps_of(request), caller_of(visit), request.path_params["message_id"])
    except NotFound as error:
        return render(request, "error.html", 404, title="No such email", message=error.message)
    return RedirectResponse("/app/inbound", status_code=303)


@page()
async def preview(request: Request, visit: Visit) -> Response:
    try:
        message = await uc.get_received(deps_of(request), caller_of(visit), request.path_params["message_id"])
    except NotFound:
        return Response("Not found", status_code=404, media_type="text/plain")
    return sandboxed(message.html, STRANGER_POLICY)


@page()
async def download(request: Request, visit: Visit) -> Response:
    message_id = request.path_params["message_id"]
    try:
        raw = await uc.raw_received(deps_of(request), caller_of(visit), message_id)
    except NotFound:
        return Response("Not found", status_code=404, media_type="text/plain")
    disposition = f'attachment; filename="{message_id}.eml"'
    return Response(raw, media_type="message/rfc822", headers={"Content-Disposition": disposition})


routes = [
    Route("/inbound", log),
    Route("/inbound/domains", add_domain, methods=["POST"]),
    Route("/inbound/domains/{domain_id}/delete", remove_domain, methods=["POST"]),
    Route("/inbound/{message_id}", detail),
    Route("/inbound/{message_id}/preview", preview),
    Route("/inbound/{message_id}/delete", delete, methods=["POST"]),
    Route("/inbound/{message_id}/message.eml", download),
]

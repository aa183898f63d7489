"""/receiving-domains and /inbound: the names a project receives mail for (with the MX record to
publish), the messages received, each one's raw message, and attachments' download links
(`/inbound-files/<signed token>`, which work without a key until they expire)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json
from adapters.http.responses import JSON, iso
from adapters.http.routing import resource
from autorelay_core.domain.inbound import RAW_TYPE, InboundMessage, ReceivingDomain
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.ports.inbound import InboundFilter
from autorelay_core.usecases import receive_mail as uc

_FILTER_MAX = 320  # an address's longest; a subject filter is cut to it too


def domain_view(request: Request, domain: ReceivingDomain) -> dict[str, Any]:
    return {
        "id": domain.id,
        "name": domain.name,
        "createdAt": iso(domain.created_at),
        "records": [
            {"type": r.type, "name": r.name, "value": r.value} for r in uc.mx_records(deps_of(request), domain)
        ],
    }


def message_view(request: Request, message: InboundMessage) -> dict[str, Any]:
    deps = deps_of(request)
    return {"object": "received_email", "id": message.id, **uc.received_view(deps, message, deps.clock.now())}


@requires("inbound.write")
async def add_domain(request: Request) -> Response:
    body = parse_json(await request.body())
    name = body.get("name") if isinstance(body, dict) else None
    domain = await uc.add_receiving_domain(deps_of(request), caller_of(request), name)
    return JSON(domain_view(request, domain), status_code=201)


@requires("inbound.read")
async def list_domains(request: Request) -> Response:
    found = await uc.receiving_domains(deps_of(request), caller_of(request))
    return JSON({"object": "list", "data": [domain_view(request, d) for d in found]})


@requires("inbound.write")
async def delete_domain(request: Request) -> Response:
    await uc.delete_receiving_domain(deps_of(request), caller_of(request), request.path_params["domain_id"])
    return JSON({"object": "receiving_domain", "id": request.path_params["domain_id"], "deleted": True})


@requires("inbound.read")
async def list_messages(request: Request) -> Response:
    query = request.query_params
    cursor = CursorRequest.parse(query.get("limit"), None, query.get("cursor"), default=20, maximum=100)
    where = InboundFilter(
        sender=query.get("from", "")[:_FILTER_MAX],
        recipient=query.get("to", "")[:_FILTER_MAX],
        subject=query.get("subject", "")[:_FILTER_MAX],
    )
    found, more = await uc.list_received(deps_of(request), caller_of(request), cursor, where)
    return JSON(
        {
            "object": "list",
            "data": [message_view(request, m) for m in found],
            "has_more": more,
            "next_cursor": found[-1].id if more and found else None,
        }
    )


@requires("inbound.read")
async def read_message(request: Request) -> Response:
    message = await uc.get_received(deps_of(request), caller_of(request), request.path_params["message_id"])
    return JSON(message_view(request, message))


@requires("inbound.write")
async def delete_message(request: Request) -> Response:
    message_id = request.path_params["message_id"]
    await uc.delete_received(deps_of(request), caller_of(request), message_id)
    return JSON({"object": "received_email", "id": message_id, "deleted": True})


@requires("inbound.read")
async def raw_message(request: Request) -> Response:
    message_id = request.path_params["message_id"]
    data = await uc.raw_received(deps_of(request), caller_of(request), message_id)
    headers = {"Content-Disposition": f'attachment; filename="{message_id}.eml"', "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=RAW_TYPE, headers=headers)


async def download(request: Request) -> Response:
    attachment, data = await uc.linked_file(deps_of(request), request.path_params["token"])
    # Always a download, never rendered here: a stranger wrote it.
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{_quoted(attachment.filename or 'attachment')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }
    return Response(data, media_type="application/octet-stream", headers=headers)


def _quoted(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


routes = [
    resource("/api/v1/receiving-domains", GET=list_domains, POST=add_domain),
    resource("/api/v1/receiving-domains/{domain_id}", DELETE=delete_domain),
    resource("/api/v1/inbound", GET=list_messages),
    resource("/api/v1/inbound/{message_id}", GET=read_message, DELETE=delete_message),
    resource("/api/v1/inbound/{message_id}/raw", GET=raw_message),
    resource("/inbound-files/{token}", GET=download),
]

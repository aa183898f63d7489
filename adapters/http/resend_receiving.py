"""Resend's receiving API at /compat/resend (`resend.emails.receiving.list/get`, and the
attachments with their download links), over AutoRelay's received mail: the same use case, scope
(inbound.read) and limits as /api/v1/inbound."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.responses import JSON
from autorelay_core.domain.inbound import InboundMessage
from autorelay_core.errors import NotFound
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.ports.inbound import InboundFilter
from autorelay_core.usecases import receive_mail as uc


def _email(request: Request, message: InboundMessage) -> dict[str, Any]:
    deps = deps_of(request)
    view = uc.received_view(deps, message, deps.clock.now())
    shown = ("to", "from", "created_at", "subject", "html", "text", "bcc", "cc", "reply_to", "message_id")
    return {"object": "email", "id": message.id, **{k: view[k] for k in shown}} | {
        "text": message.text or None,
        "html": message.html or None,
        "headers": {name.lower(): value for name, value in reversed(message.headers)},
        "attachments": [_attachment(a, full=False) for a in view["attachments"]],  # type: ignore[attr-defined]
    }


def _attachment(shown: dict[str, Any], *, full: bool) -> dict[str, Any]:
    keys = ("id", "filename", "content_type", "content_disposition", "content_id")
    view = {k: shown[k] for k in keys}
    if full:
        view |= {"object": "attachment", "size": shown["size"], "download_url": shown["download_url"]}
        view["expires_at"] = shown["expires_at"]
    return view


@requires("inbound.read")
async def list_received(request: Request) -> Response:
    query = request.query_params
    cursor = CursorRequest.parse(query.get("limit"), None, query.get("after"), default=20, maximum=100)
    found, more = await uc.list_received(deps_of(request), caller_of(request), cursor, InboundFilter())
    return JSON({"object": "list", "has_more": more, "data": [_email(request, m) for m in found]})


@requires("inbound.read")
async def get_received(request: Request) -> Response:
    message = await uc.get_received(deps_of(request), caller_of(request), request.path_params["email_id"])
    return JSON(_email(request, message))


async def _attachments(request: Request) -> list[dict[str, Any]]:
    deps = deps_of(request)
    message = await uc.get_received(deps, caller_of(request), request.path_params["email_id"])
    return list(uc.received_view(deps, message, deps.clock.now())["attachments"])  # type: ignore[call-overload]


@requires("inbound.read")
async def list_attachments(request: Request) -> Response:
    shown = await _attachments(request)
    return JSON({"object": "list", "has_more": False, "data": [_attachment(a, full=True) for a in shown]})


@requires("inbound.read")
async def get_attachment(request: Request) -> Response:
    wanted = request.path_params["attachment_id"]
    for shown in await _attachments(request):
        if shown["id"] == wanted:
            return JSON(_attachment(shown, full=True))
    raise NotFound(f"attachment {wanted} not found")


# (path, method, the /api/v1 operation whose limits apply, handler)
ROUTES = [
    ("/emails/receiving", "GET", "GET /api/v1/inbound", list_received),
    ("/emails/receiving/{email_id}", "GET", "GET /api/v1/inbound/{message_id}", get_received),
    ("/emails/receiving/{email_id}/attachments", "GET", "GET /api/v1/inbound/{message_id}", list_attachments),
    (
        "/emails/receiving/{email_id}/attachments/{attachment_id}",
        "GET",
        "GET /api/v1/inbound/{message_id}",
        get_attachment,
    ),
]

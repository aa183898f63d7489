"""/emails: send one, send a batch, list with cursors, read one with its events."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json, send_command
from adapters.http.responses import JSON, iso
from adapters.http.routing import resource
from autorelay_core.domain.emails import Email, Event
from autorelay_core.errors import Invalid
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.usecases.read_emails import get_email, list_emails, parse_status
from autorelay_core.usecases.send_batch import check_envelope, send_batch
from autorelay_core.usecases.send_email import send_email


def _to(email: Email) -> str | list[str]:
    return list(email.to) if email.to_was_list else email.to[0]


def email_summary(email: Email) -> dict[str, Any]:
    return {
        "id": email.id,
        "to": _to(email),
        "from": email.sender,
        "subject": email.subject,
        "status": email.status.value,
        "opens": email.opens,
        "clicks": email.clicks,
        "messageId": email.message_id,
        "test": email.test,
        "createdAt": iso(email.created_at),
    }


def email_detail(email: Email) -> dict[str, Any]:
    return {
        **email_summary(email),
        "cc": list(email.cc),
        "bcc": list(email.bcc),
        "replyTo": list(email.reply_to),
        "tags": email.tags,
        "templateId": email.template_id,
        "scheduledAt": iso(email.scheduled_at),
        "lastError": email.last_error,
        "providerMessageId": email.provider_message_id,
    }


@requires("emails.send")
async def post_email(request: Request) -> Response:
    command = send_command(parse_json(await request.body()))
    email = await send_email(deps_of(request), caller_of(request), command)
    return JSON({"id": email.id, "success": True, "messageId": email.message_id})


@requires("emails.send")
async def post_batch(request: Request) -> Response:
    body = parse_json(await request.body())
    if not isinstance(body, dict):
        raise Invalid("the request body must be a JSON object with an 'emails' list")
    extra = set(body) - {"emails"}
    if extra:
        raise Invalid(f"unknown field(s): {', '.join(sorted(extra))}")
    rows: list[tuple[Any, object]] = []
    for index, raw in enumerate(check_envelope(body.get("emails"))):
        where = f"emails[{index}]"
        try:
            parsed: Any = send_command(raw, where=where)
        except Invalid as error:
            parsed = error
        rows.append((parsed, raw.get("to") if isinstance(raw, dict) else None))
    result = await send_batch(deps_of(request), caller_of(request), rows)
    return JSON(
        {
            "object": "batch",
            "batch_id": result.batch_id,
            "total": len(result.rows),
            "sent": result.sent,
            "failed": result.failed,
            "data": [{"id": r.id, "to": r.to, "status": r.status, "error": r.error} for r in result.rows],
        }
    )


@requires("emails.read")
async def get_emails(request: Request) -> Response:
    query = request.query_params
    cursor = CursorRequest.parse(
        query.get("limit"), query.get("order"), query.get("startingAfter"), default=20, maximum=100
    )
    page = await list_emails(deps_of(request), caller_of(request), parse_status(query.get("status")), cursor)
    return JSON(
        {
            "emails": [email_summary(e) for e in page.items],
            "total": page.total,
            "has_more": page.has_more,
            "next_cursor": page.items[-1].id if page.has_more and page.items else None,
        }
    )


@requires("emails.read")
async def get_one_email(request: Request) -> Response:
    email, events = await get_email(deps_of(request), caller_of(request), request.path_params["email_id"])
    return JSON(
        {
            "email": email_detail(email),
            "events": [_event(e) for e in events],
        }
    )


routes = [
    resource("/api/v1/emails", GET=get_emails, POST=post_email),
    resource("/api/v1/emails/batch", POST=post_batch),
    resource("/api/v1/emails/{email_id}", GET=get_one_email),
]


def _event(event: Event) -> dict[str, Any]:
    """An event on the wire; a failure, bounce or deferral says why (and a deferral when it is tried
    again)."""
    view: dict[str, Any] = {"type": event.type.value, "createdAt": iso(event.created_at)}
    if "error" in event.data:
        view["reason"] = str(event.data["error"])
    if "next_attempt" in event.data:
        view["nextAttempt"] = str(event.data["next_attempt"])
    return view

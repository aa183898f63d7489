"""A Resend-compatible API at /compat/resend: `RESEND_API_URL=http://host:3000/compat/resend` makes
the official Resend SDKs send through AutoRelay unchanged.

It speaks Resend's shapes (tags as `{name, value}`, attachments as base64 or a byte list, a batch as a
bare array, errors as `{statusCode, name, message}`) over the same use cases and the same wrapper as
`/api/v1`: key, scope, account status, rate limits (counted as the matching /api/v1 endpoint's),
quota, suppression, idempotency and test keys apply exactly as there. What Resend has and AutoRelay
does not answers 422 naming it.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.http import resend_audience as audience
from adapters.http import resend_receiving as receiving
from adapters.http import resend_resources as resources
from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json
from adapters.http.responses import JSON, iso
from adapters.statuses import status_of
from autorelay_core import errors
from autorelay_core.domain.emails import Email
from autorelay_core.errors import AutoRelayError, Invalid
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.usecases.read_emails import get_email, list_emails
from autorelay_core.usecases.send_email import AttachmentInput, SendCommand, accept, build_email

# Resend's error names and statuses (resend.com/docs/api-reference/errors), by status where one
# status means one thing; `_resend_error` picks the rest from the error itself.
_NAMES = {
    400: "validation_error",
    404: "not_found",
    405: "method_not_allowed",
    413: "validation_error",
    422: "validation_error",
    429: "rate_limit_exceeded",
    503: "application_error",
}
_FIELDS = {
    "from",
    "to",
    "subject",
    "bcc",
    "cc",
    "reply_to",
    "html",
    "text",
    "headers",
    "attachments",
    "tags",
    "scheduled_at",
}
_UNSUPPORTED = {"react": "React email bodies (send html)", "template": "Resend's templates (send html)"}


def resend_error(status: int, message: str, headers: dict[str, str] | None = None, name: str | None = None) -> Response:
    # Resend answers validation problems with 422; its SDKs show `message` to the developer.
    status = 422 if status == 400 else status
    body = {"statusCode": status, "name": name or _NAMES.get(status, "application_error"), "message": message}
    return JSON(body, status_code=status, headers=headers)


def _resend_error(error: AutoRelayError, request: Request) -> tuple[int, str]:
    """The status and name Resend gives the same failure, so that code written for Resend's errors
    (and its SDKs' types) handles ours."""
    match error:
        case errors.Unauthenticated() if not request.headers.get("authorization"):
            return 401, "missing_api_key"
        case errors.Unauthenticated():
            return 403, "invalid_api_key"
        case errors.Forbidden():  # a key without the scope: Resend's sending-only key
            return 401, "restricted_api_key"
        case errors.AccountLocked():
            return 403, "validation_error"
        case errors.Unprocessable():
            return 409, "invalid_idempotent_request"
        case errors.InFlight():
            return 409, "concurrent_idempotent_requests"
        case errors.Conflict():
            return 409, "validation_error"
        case errors.QuotaExceeded():
            return 429, "daily_quota_exceeded" if " day" in error.message else "monthly_quota_exceeded"
    status = status_of(error)
    return status, _NAMES.get(422 if status == 400 else status, "application_error")


def _for(error: AutoRelayError, request: Request) -> Response:
    status, name = _resend_error(error, request)
    headers = (
        {"Retry-After": str(error.retry_after)} if isinstance(error, errors.RateLimited | errors.Unavailable) else {}
    )
    return resend_error(status, error.message if status != 500 else "Internal server error", headers, name)


def _list(value: Any, field: str) -> list[str] | str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise Invalid(f"{field} must be an email address or a list of them")


def _command(body: Any, where: str = "") -> SendCommand:
    """Resend's email object as our SendCommand."""
    if not isinstance(body, dict):
        raise Invalid(f"{where or 'the body'} must be a JSON object")
    for field, what in _UNSUPPORTED.items():
        if field in body:
            raise Invalid(f"{where}{field}: {what} is not supported by AutoRelay")
    unknown = sorted(set(body) - _FIELDS - set(_UNSUPPORTED))
    if unknown:
        raise Invalid(f"{where}unknown field(s): {', '.join(unknown)}")
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, dict) and {"name", "value"} >= set(t) for t in tags):
        raise Invalid(f"{where}tags must be a list of {{name, value}} objects")
    headers = body.get("headers")
    if headers is not None and not (isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())):
        raise Invalid(f"{where}headers must be an object of strings")
    text, html = body.get("text"), body.get("html")
    for field, value in (("from", body.get("from")), ("subject", body.get("subject")), ("html", html), ("text", text)):
        if value is not None and not isinstance(value, str):
            raise Invalid(f"{where}{field} must be a string")
    command = SendCommand(
        to=_list(body.get("to"), f"{where}to") or [],
        from_=body.get("from") or "",
        subject=body.get("subject"),
        html=html,
        text=text,
        cc=_list(body.get("cc"), f"{where}cc"),
        bcc=_list(body.get("bcc"), f"{where}bcc"),
        reply_to=_list(body.get("reply_to"), f"{where}reply_to"),
        headers=headers,
        tags={str(t.get("name")): t.get("value") for t in tags},
        attachments=[_attachment(a, f"{where}attachments[{i}]") for i, a in enumerate(body.get("attachments") or [])],
        scheduled_at=_when(body.get("scheduled_at"), where),
    )
    return command


_ATTACHMENT_FIELDS = {"content", "filename", "path", "content_type", "content_id", "inline_content_id"}


def _attachment(item: Any, where: str) -> AttachmentInput:
    if not isinstance(item, dict):
        raise Invalid(f"{where} must be an object with content and filename")
    unknown = sorted(set(item) - _ATTACHMENT_FIELDS)
    if unknown:  # as the email's own fields: never silently dropped
        raise Invalid(f"{where}: unknown field(s): {', '.join(unknown)}")
    if item.get("path"):
        raise Invalid(f"{where}.path: attachments fetched from a URL are not supported; send content")
    inline = item.get("content_id") or item.get("inline_content_id")
    if inline is not None and not isinstance(inline, str):
        raise Invalid(f"{where}.content_id must be a string")
    content = item.get("content")
    if isinstance(content, list) and all(isinstance(b, int) and 0 <= b < 256 for b in content):
        content = base64.b64encode(bytes(content)).decode("ascii")  # the Node SDK sends a Buffer's bytes
    if not isinstance(content, str):
        raise Invalid(f"{where}.content must be base64 or a list of bytes")
    return AttachmentInput(
        filename=item.get("filename"), content=content, content_type=item.get("content_type"), content_id=inline
    )


def _when(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise Invalid(
            f"{where}scheduled_at must be an ISO 8601 date-time (natural language is not supported)"
        ) from None
    if moment.tzinfo is None:
        raise Invalid(f"{where}scheduled_at needs a time zone (e.g. a trailing Z)")
    return moment


Handler = Callable[[Request], Awaitable[Response]]
KEYS_LIMITED_AS = "POST /compat/resend/api-keys"


def _shaped(handler: Handler) -> Handler:
    """Errors the handler raises answer in Resend's shape (and so are stored that way under an
    Idempotency-Key)."""

    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except AutoRelayError as error:
            return _for(error, request)

    return wrapper


@requires("emails.send")
@_shaped
async def send(request: Request) -> Response:
    command = _command(parse_json(await request.body()))
    email, billed = await build_email(deps_of(request), caller_of(request), command)
    await accept(deps_of(request), email, billed)
    return JSON({"id": email.id})


@requires("emails.send")
@_shaped
async def send_batch(request: Request) -> Response:
    """Resend's batch. Strict (the default): every email is checked first, and one invalid refuses
    the whole batch. Permissive (`x-batch-validation: permissive`, the SDKs' `batch_validation`
    option): the valid emails are sent and the others listed in `errors` with their index."""
    mode = request.headers.get("x-batch-validation", "strict").strip().lower()
    if mode not in ("strict", "permissive"):
        raise Invalid("x-batch-validation must be strict or permissive")
    rows = parse_json(await request.body())
    if not isinstance(rows, list) or not 1 <= len(rows) <= 100:
        raise Invalid("the body must be a list of 1 to 100 emails")
    deps, key = deps_of(request), caller_of(request)
    built, failed = [], []
    for index, row in enumerate(rows):
        try:
            built.append(await build_email(deps, key, _command(row, f"[{index}].")))
        except Invalid as error:
            if mode == "strict":
                raise Invalid(f"[{index}] {error.message}") from None
            failed.append({"index": index, "message": error.message})
    for email, billed in built:
        await accept(deps, email, billed)
    answer: dict[str, Any] = {"data": [{"id": email.id} for email, _ in built]}
    if mode == "permissive":
        answer["errors"] = failed
    return JSON(answer)


def _last_event(email: Email, last: str | None, now: datetime) -> str | None:
    """Resend says `scheduled` for an email waiting for its time, where AutoRelay's log says queued."""
    if last == "queued" and email.scheduled_at is not None and email.scheduled_at > now:
        return "scheduled"
    return last


def _view(email: Email, last_event: str | None) -> dict[str, Any]:
    return {
        "object": "email",
        "id": email.id,
        "to": list(email.to),
        "from": email.sender,
        "created_at": iso(email.created_at),
        "subject": email.subject,
        "html": None if email.sealed else (email.html or None),
        "text": None if email.sealed else email.text,
        "bcc": list(email.bcc) or None,
        "cc": list(email.cc) or None,
        "reply_to": list(email.reply_to) or None,
        "last_event": last_event,
        "scheduled_at": iso(email.scheduled_at),
        "tags": [{"name": k, "value": v} for k, v in email.tags.items()],
    }


@requires("emails.read")
@_shaped
async def get_one(request: Request) -> Response:
    deps = deps_of(request)
    email, events = await get_email(deps, caller_of(request), request.path_params["email_id"])
    return JSON(_view(email, _last_event(email, events[-1].type.value if events else None, deps.clock.now())))


@requires("emails.read")
@_shaped
async def get_list(request: Request) -> Response:
    query = request.query_params
    if query.get("before"):
        raise Invalid("before: paging backwards is not supported; use after")
    cursor = CursorRequest.parse(query.get("limit"), "desc", query.get("after"), default=10, maximum=100)
    page = await list_emails(deps_of(request), caller_of(request), None, cursor)
    now = deps_of(request).clock.now()
    views = [_view(e, _last_event(e, e.status.value, now)) for e in page.items]
    return JSON({"object": "list", "has_more": page.has_more, "data": views})


async def _not_supported(request: Request) -> Response:
    return resend_error(
        422, f"{request.method} {request.url.path.removeprefix('/compat/resend')} is not supported by AutoRelay"
    )


async def _on_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, AutoRelayError):
        return _for(exc, request)
    if isinstance(exc, HTTPException):
        return resend_error(exc.status_code, str(exc.detail))
    return resend_error(500, "Internal server error")


# By class, not under `Exception`: Starlette sends an `Exception` handler's answer from its outermost
# middleware and then raises again (a logged traceback and a dropped connection for every refused
# key). Only a real fault (anything else) takes that path.
_HANDLERS = {AutoRelayError: _on_error, HTTPException: _on_error, Exception: _on_error}


def _as(endpoint: str, handler: Handler) -> Handler:
    """Counted against /api/v1's limits for the same action (what `resource()` records there)."""

    async def route(request: Request) -> Response:
        request.state.endpoint = endpoint
        return await handler(request)

    return route


def create_resend_app(services: Any) -> Starlette:
    app = Starlette(
        routes=[
            Route("/emails", _as("POST /api/v1/emails", send), methods=["POST"]),
            Route("/emails", _as("GET /api/v1/emails", get_list), methods=["GET"]),
            Route("/emails/batch", _as("POST /api/v1/emails/batch", send_batch), methods=["POST"]),
            *[  # before /emails/{email_id}, which would take "receiving" for an id
                Route(path, _as(limits, _shaped(handler)), methods=[method])
                for path, method, limits, handler in receiving.ROUTES
            ],
            Route("/emails/{email_id}", _as("GET /api/v1/emails/{email_id}", get_one), methods=["GET"]),
            Route("/domains", _as("POST /api/v1/domains", _shaped(resources.create_domain)), methods=["POST"]),
            Route("/domains", _as("GET /api/v1/domains", _shaped(resources.list_domains)), methods=["GET"]),
            Route(
                "/domains/{domain_id}",
                _as("GET /api/v1/domains/{domain_id}", _shaped(resources.get_domain)),
                methods=["GET"],
            ),
            Route(
                "/domains/{domain_id}",
                _as("DELETE /api/v1/domains/{domain_id}", _shaped(resources.delete_domain)),
                methods=["DELETE"],
            ),
            Route(
                "/domains/{domain_id}/verify",
                _as("POST /api/v1/domains/{domain_id}/verify", _shaped(resources.verify_domain)),
                methods=["POST"],
            ),
            Route("/api-keys", _as(KEYS_LIMITED_AS, _shaped(resources.create_key)), methods=["POST"]),
            Route("/api-keys", _as("GET /compat/resend/api-keys", _shaped(resources.list_keys)), methods=["GET"]),
            Route("/api-keys/{key_id}", _as(KEYS_LIMITED_AS, _shaped(resources.delete_key)), methods=["DELETE"]),
            *[
                Route(path, _as(limits, _shaped(handler)), methods=[method])
                for path, method, limits, handler in audience.ROUTES
            ],
            Route("/{rest:path}", _not_supported, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
        ],
        exception_handlers=_HANDLERS,
    )
    app.state.services = services
    return app

"""The email log and test-mode inbox: filtered cursor pages whose rows refresh themselves, and one
email's envelope, headers, events, rendered HTML (in a sandboxed frame), text and raw message."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from email import policy
from email.parser import BytesHeaderParser, BytesParser
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.dashboard.pages import caller_of, deps_of, page, render, sandboxed
from autorelay_core.domain.addresses import is_valid_address
from autorelay_core.domain.emails import Email, EmailStatus
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.policies.pagination import CursorRequest, Order
from autorelay_core.ports import SEARCH_COUNTED, EmailFilter
from autorelay_core.usecases import queries
from autorelay_core.usecases.manage_users import Visit
from autorelay_core.usecases.read_emails import get_email, text_part

PAGE_SIZE = 50


_FIRST_DAY, _LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)  # a day after the last is still a date


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{field} must be a date like 2026-05-25") from None
    if not _FIRST_DAY <= day <= _LAST_DAY:
        raise Invalid(f"{field} must be a date between {_FIRST_DAY} and {_LAST_DAY}")
    return day


def _filters(request: Request) -> EmailFilter:
    query = request.query_params
    status = query.get("status") or None
    try:
        wanted = EmailStatus(status) if status else None
    except ValueError:
        raise Invalid(f"status must be one of {', '.join(s.value for s in EmailStatus)}") from None
    recipient = (query.get("to") or "").strip() or None
    if recipient is not None and not is_valid_address(recipient):
        raise Invalid("To must be a whole email address (the first recipient)")
    first, last = _day(query.get("from"), "Sent on or after"), _day(query.get("until"), "Sent on or before")
    return EmailFilter(
        status=wanted,
        test={"test": True, "live": False}.get(query.get("mode") or ""),
        recipient=recipient,
        since=datetime.combine(first, time.min, UTC) if first else None,
        until=datetime.combine(last + timedelta(days=1), time.min, UTC) if last else None,
        words=_words(query.get("q")),
    )


def _words(value: str | None) -> str | None:
    if value and len(value) > 200:
        raise Invalid("Search must be at most 200 characters")
    return (value or "").strip() or None


async def _rows(request: Request, visit: Visit):
    cursor = CursorRequest(limit=PAGE_SIZE, order=Order.DESC, after=request.query_params.get("after") or None)
    return await queries.search_emails(deps_of(request), caller_of(visit), cursor, _filters(request))


def _query(request: Request, **changes: str | None) -> str:
    params = {k: v for k, v in request.query_params.items() if v} | {k: v for k, v in changes.items() if v}
    for key, value in changes.items():
        if not value:
            params.pop(key, None)
    return urlencode(params)


@page()
async def log(request: Request, visit: Visit) -> Response:
    try:
        found = await _rows(request, visit)
    except Invalid as error:
        return render(request, "error.html", 400, title="Bad filter", message=error.message)
    after = found.items[-1].id if found.has_more and found.items else None
    return render(
        request,
        "emails.html",
        emails=found.items,
        total=found.total,
        counted=SEARCH_COUNTED,
        statuses=[s.value for s in EmailStatus],
        status=request.query_params.get("status", ""),
        mode=request.query_params.get("mode", ""),
        to=request.query_params.get("to", ""),
        q=request.query_params.get("q", ""),
        filtered=any(request.query_params.get(k) for k in ("status", "mode", "to", "from", "until", "q")),
        first_day=request.query_params.get("from", ""),
        last_day=request.query_params.get("until", ""),
        live=not request.query_params.get("after"),
        rows_query=_query(request),
        next_query=_query(request, after=after) if after else None,
    )


@page()
async def rows(request: Request, visit: Visit) -> Response:
    """The first page's rows again (htmx polls them: new emails and new statuses show up)."""
    try:
        found = await _rows(request, visit)
    except Invalid as error:
        return render(request, "error.html", 400, title="Bad filter", message=error.message)
    return render(request, "emails_rows.html", emails=found.items, rows_query=_query(request), live=True)


async def _email(request: Request, visit: Visit) -> Email | None:
    """The project's email named in the path; None for any other (another project's is no different)."""
    try:
        email, _ = await get_email(deps_of(request), caller_of(visit), request.path_params["email_id"])
    except NotFound:
        return None
    return email


def relayed_parts(email: Email) -> tuple[str, str | None]:
    """The HTML and text parts of a message the SMTP relay took in (its stored form is the MIME).
    CPU-bound for a large message: run it through Offload."""
    message = BytesParser(policy=policy.default).parsebytes(email.raw or b"")
    parts = []
    for kind in ("html", "plain"):
        body = message.get_body((kind,))
        try:
            parts.append(body.get_content() if body is not None else None)
        except (LookupError, ValueError, AttributeError):
            parts.append(None)
    return parts[0] or "", parts[1]


def _not_found() -> Response:
    return Response("Not found", status_code=404, media_type="text/plain")


@page()
async def detail(request: Request, visit: Visit) -> Response:
    try:
        email, events = await get_email(deps_of(request), caller_of(visit), request.path_params["email_id"])
    except NotFound as error:
        return render(request, "error.html", 404, title="No such email", message=error.message)
    raw = await asyncio.to_thread(request.app.state.raw_message, email.id)
    downloadable = raw is not None
    sent_headers = await deps_of(request).offload.run(headers_of, raw) if raw is not None else []
    text = await text_part(deps_of(request), email)
    if email.raw is not None:
        text = (await deps_of(request).offload.run(relayed_parts, email))[1] or ""
    # Sent with a text part alone (no HTML, no template): the recipient sees that text, nothing else.
    plain_only = not email.html and email.raw is None and not email.sealed
    return render(
        request,
        "email.html",
        email=email,
        events=events,
        downloadable=downloadable,
        text=text,
        plain_only=plain_only,
        sent_headers=sent_headers,
    )


MAX_SHOWN_HEADERS = 200


def headers_of(raw: bytes) -> list[tuple[str, str]]:
    """The header block of the message that left, field by field (unfolded, decoded), as a
    person reads it in a mail client's "show original"; at most MAX_SHOWN_HEADERS fields."""
    head = BytesHeaderParser(policy=policy.default).parsebytes(raw[: 256 * 1024], headersonly=True)
    return [(name, str(value)[:4000]) for name, value in list(head.items())[:MAX_SHOWN_HEADERS]]


@page()
async def preview(request: Request, visit: Visit) -> Response:
    email = await _email(request, visit)
    if email is None:
        return _not_found()
    body = "<p>This one-time-code email is sealed; its body is never shown.</p>" if email.sealed else email.html
    if email.raw is not None:  # relayed over SMTP: the HTML part of the client's message
        body = (await deps_of(request).offload.run(relayed_parts, email))[0]
    return sandboxed(body)


@page()
async def download(request: Request, visit: Visit) -> Response:
    email = await _email(request, visit)
    if email is None:
        return _not_found()
    raw = await asyncio.to_thread(request.app.state.raw_message, email.id)  # file reads, off the loop
    if raw is None:
        return render(request, "error.html", 404, title="Not kept", message=_NOT_KEPT)
    disposition = f'attachment; filename="{email.id}.eml"'
    return Response(raw, media_type="message/rfc822", headers={"Content-Disposition": disposition})


_NOT_KEPT = (
    "No copy of this message is kept: it has not left yet, it is a one-time-code email, or it is older than"
    " AUTORELAY_KEEP_MESSAGES_DAYS."
)

routes = [
    Route("/emails", log),
    Route("/emails/rows", rows),
    Route("/emails/{email_id}", detail),
    Route("/emails/{email_id}/preview", preview),
    Route("/emails/{email_id}/message.eml", download),
]

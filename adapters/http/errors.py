"""Core errors -> HTTP statuses, in exactly one place."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from adapters.http.responses import JSON
from adapters.statuses import STATUS, status_of
from autorelay_core import errors

log = logging.getLogger("autorelay.http")


# The API's names for fields the core names its own way; an error about one names it as sent.
_WIRE_FIELDS = {"list_id": "listId", "starting_after": "startingAfter", "from_email": "fromEmail"}


def error_response(error: errors.AutoRelayError) -> Response:
    status = status_of(error)
    message = error.message if status != 500 else "Internal server error"
    wire = _WIRE_FIELDS.get(getattr(error, "field", None) or "")
    body: dict[str, object] = {"error": f"{wire}: {message}" if wire else message}
    headers: dict[str, str] = {}
    if isinstance(error, errors.AccountLocked):
        body["accountStatus"] = error.account_status
    if isinstance(error, errors.CodeRejected):
        body = {"ok": False, **body}  # the reference's OTP answers carry `ok`
    if isinstance(error, errors.RateLimited):
        headers["Retry-After"] = str(error.retry_after)
        if error.policy:
            name, count, window = error.policy
            headers["RateLimit-Policy"] = f'"{name}";q={count};w={window:g}'
            headers["RateLimit"] = f'"{name}";r=0;t={error.retry_after}'
    if isinstance(error, errors.Unavailable):
        headers["Retry-After"] = str(error.retry_after)
        log.warning("answered 503: %s", error.message)
    if isinstance(error, errors.Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="autorelay"'
    return JSON(body, status_code=status, headers=headers)


async def on_core_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.AutoRelayError)
    if not any(isinstance(exc, kind) for kind in STATUS):
        log.error("unmapped core error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    response = error_response(exc)
    log_client_error(request, response.status_code, exc.message)
    return response


def log_client_error(request: Request, status: int, why: str) -> None:
    """One line for a client error on a public endpoint (no key): an operator sees the probing,
    the log does not fill with tracebacks. %r keeps a stranger's line breaks out of the log."""
    if 400 <= status < 500 and getattr(request.state, "caller", None) is None:
        client = request.client.host if request.client else "?"
        log.info(
            "client error %d on %s %r from %s: %r", status, request.method, request.url.path[:200], client, why[:200]
        )


_HTTP_MESSAGES = {404: "Not found", 405: "Method not allowed"}


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code, exc.detail)
    log_client_error(request, exc.status_code, str(message))
    return JSON({"error": message}, status_code=exc.status_code, headers=exc.headers)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # No stack trace in the body; the log has it.
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSON({"error": "Internal server error"}, status_code=500)


HANDLERS = {
    errors.AutoRelayError: on_core_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}

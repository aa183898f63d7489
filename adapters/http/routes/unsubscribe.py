"""/unsubscribe: public (the signed token is the credential), per client IP rate limit.

POST takes JSON `{"token"}`, or the RFC 8058 one-click form body (`List-Unsubscribe=One-Click`,
urlencoded or multipart) with the token in the link's query string, and answers `{"ok": true}`.
GET is the link in the email: it applies the token and answers an HTML page. Neither sets a cookie
or redirects; a bad token is 400 (JSON for POST, an HTML page for GET).
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from adapters.http.auth import add_rate_headers, client_ip, deps_of
from adapters.http.bodies import parse_json
from adapters.http.errors import error_response, log_client_error
from adapters.http.responses import JSON
from adapters.http.routing import resource
from autorelay_core.errors import AutoRelayError, Invalid, RateLimited
from autorelay_core.usecases.enforce_limits import enforce
from autorelay_core.usecases.unsubscribe import unsubscribe

# GET and POST share one budget per IP: both apply a token.
_LIMITED_AS = "contacts.unsubscribe"
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

# The token sits in the page's URL: keep it out of Referer headers, caches and frames.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;color:#222}}
h1{{font-size:1.5rem}}p{{color:#555;line-height:1.5}}a{{color:#0b57d0}}</style></head>
<body><h1>{title}</h1><p>{text}</p>{more}</body></html>
"""


async def _token_from_body(request: Request) -> object:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _FORMS:
        form = await request.form()
        value = form.get("token") or request.query_params.get("token")
        await form.close()
        return value
    raw = await request.body()
    if not raw:  # a bare one-click POST to the link
        return request.query_params.get("token")
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise Invalid("the request body must be a JSON object with a token", field="token")
    unknown = sorted(set(body) - {"token"})
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(unknown)}; send only the token", field=unknown[0])
    return body.get("token")


async def post_unsubscribe(request: Request) -> Response:
    deps = deps_of(request)
    applied = await enforce(deps, _LIMITED_AS, ip=client_ip(request))
    try:
        await unsubscribe(deps, await _token_from_body(request))
    except Invalid as error:
        log_client_error(request, 400, error.message)
        response = JSON({"ok": False, "error": error.message}, status_code=400)
    else:
        response = JSON({"ok": True})
    add_rate_headers(response, applied)
    return response


def _page(
    title: str, text: str, status: int, headers: dict[str, str] | None = None, link: str | None = None
) -> HTMLResponse:
    more = f'<p><a href="{escape(link)}">Manage your email preferences</a></p>' if link else ""
    body = _PAGE.format(title=escape(title), text=escape(text), more=more)
    return HTMLResponse(body, status_code=status, headers={**_PAGE_HEADERS, **(headers or {})})


async def get_unsubscribe(request: Request) -> Response:
    if request.method == "HEAD":
        # Link checkers probe with HEAD: show that the page exists without applying anything.
        return _page("Unsubscribe", "", 200)
    deps = deps_of(request)
    try:
        applied = await enforce(deps, _LIMITED_AS, ip=client_ip(request))
    except RateLimited as error:
        retry = error_response(error).headers["Retry-After"]
        return _page("Too many requests", f"Please try again in {retry} seconds.", 429, {"Retry-After": retry})
    try:
        done = await unsubscribe(deps, request.query_params.get("token"))
    except AutoRelayError as error:
        log_client_error(request, 400, error.message)
        return _page(
            "This link does not work",
            "The unsubscribe link is not valid: it may have been cut short or altered. "
            "Open the link from the email again, or use the unsubscribe option of your mail app.",
            400,
        )
    if done.topic is not None:  # a topic's mail: the person keeps the list and their other topics
        text = f"You will not receive any more emails about {done.topic}. Your other subscriptions stay as they were."
    else:
        text = "You will not receive any more emails from this list. You can close this page."
    response = _page("You've been unsubscribed", text, 200, link=done.preferences_url)
    add_rate_headers(response, applied)
    return response


routes = [resource("/api/v1/unsubscribe", GET=get_unsubscribe, POST=post_unsubscribe)]

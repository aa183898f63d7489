"""/preferences: the hosted preference page a campaign email links to (`{{ preferences_url }}`).

Public: the signed token is the credential, as for /api/v1/unsubscribe, and both share one per-IP
budget. GET shows the person's topics; POST (a form: the token, the ticked topics, and the button
pressed) saves them or leaves everything and shows the page again with what happened. No cookie,
no script, no redirect; the token stays out of Referer headers, caches and frames.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from adapters.http.auth import add_rate_headers, client_ip, deps_of
from adapters.http.errors import error_response, log_client_error
from adapters.http.routing import resource
from autorelay_core.errors import Invalid, RateLimited
from autorelay_core.usecases.enforce_limits import enforce
from autorelay_core.usecases.preferences import Preferences, leave_everything, open_preferences, save_preferences

_LIMITED_AS = "contacts.unsubscribe"
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
_MAX_FORM_FIELDS = 200  # a token, an action and at most 50 topics: anything bigger is not our form

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1f2328}
main{max-width:34rem;margin:8vh auto;padding:2rem;background:#fff;border:1px solid #d8dee4;border-radius:12px}
h1{font-size:1.5rem;margin:0 0 .5rem}
p{line-height:1.5;color:#3d444d}
fieldset{border:0;padding:0;margin:1.5rem 0}
legend{font-weight:600;margin-bottom:.5rem}
.topic{display:flex;gap:.75rem;align-items:flex-start;padding:.75rem 0;border-top:1px solid #eaeef2}
.topic input{width:1.25rem;height:1.25rem;margin:.15rem 0 0;accent-color:#1f6feb;flex:none}
.topic label{cursor:pointer}
.topic span{display:block;color:#59636e;font-size:.9rem;margin-top:.15rem}
button{font:inherit;padding:.6rem 1rem;border-radius:8px;cursor:pointer}
.primary{background:#1f6feb;color:#fff;border:1px solid #1f6feb}
.quiet{background:#fff;color:#b42318;border:1px solid #d0d7de}
button:focus-visible,input:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.status{padding:.75rem 1rem;border-radius:8px;background:#e6f4ea;color:#14532d;margin:1rem 0}
.leave{margin-top:2rem;padding-top:1.5rem;border-top:1px solid #d8dee4}
"""


def _page(title: str, body: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    html = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)}</title><style>{_STYLE}</style></head>'
        f"<body><main>{body}</main></body></html>\n"
    )
    return HTMLResponse(html, status_code=status, headers={**_HEADERS, **(headers or {})})


def _form(token: str, found: Preferences, said: str) -> str:
    token_field = f'<input type="hidden" name="token" value="{escape(token)}">'
    parts = [
        "<h1>Email preferences</h1>",
        f"<p>Choose the emails <strong>{escape(found.address)}</strong> gets from us.</p>",
    ]
    if said:
        parts.append(f'<p class="status" role="status">{escape(said)}</p>')
    elif not found.subscribed:
        parts.append("<p>You are unsubscribed from our list, so no topic reaches you until you sign up again.</p>")
    if found.topics:
        rows = []
        for index, item in enumerate(found.topics):
            box = f"topic-{index}"
            described = f"<span>{escape(item.topic.description)}</span>" if item.topic.description else ""
            rows.append(
                f'<div class="topic"><input type="checkbox" id="{box}" name="topic"'
                f' value="{escape(item.topic.id)}"{" checked" if item.subscribed else ""}>'
                f'<label for="{box}"><strong>{escape(item.topic.name)}</strong>{described}</label></div>'
            )
        parts.append(
            f'<form method="post" action="/preferences">{token_field}'
            f"<fieldset><legend>Topics</legend>{''.join(rows)}</fieldset>"
            '<button class="primary" type="submit" name="action" value="save">Save preferences</button></form>'
        )
    parts.append(
        f'<form class="leave" method="post" action="/preferences">{token_field}'
        "<p>Or stop every email from us, whatever the topic or list.</p>"
        '<button class="quiet" type="submit" name="action" value="leave">Unsubscribe from everything</button></form>'
    )
    return "".join(parts)


def _broken() -> HTMLResponse:
    return _page(
        "This link does not work",
        "<h1>This link does not work</h1><p>The preferences link is not valid: it may have been cut short or"
        " altered. Open the link from the email again, or use the unsubscribe option of your mail app.</p>",
        400,
    )


async def _limited(request: Request) -> tuple[list, Response | None]:
    try:
        return await enforce(deps_of(request), _LIMITED_AS, ip=client_ip(request)), None
    except RateLimited as error:
        retry = error_response(error).headers["Retry-After"]
        text = f"<h1>Too many requests</h1><p>Please try again in {escape(retry)} seconds.</p>"
        return [], _page("Too many requests", text, 429, {"Retry-After": retry})


async def get_preferences(request: Request) -> Response:
    if request.method == "HEAD":  # link checkers: the page exists; nothing is read
        return _page("Email preferences", "")
    applied, refused = await _limited(request)
    if refused is not None:
        return refused
    token = request.query_params.get("token", "")
    try:
        found = await open_preferences(deps_of(request), token)
    except Invalid as error:
        log_client_error(request, 400, error.message)
        return _broken()
    response = _page("Email preferences", _form(token, found, ""))
    add_rate_headers(response, applied)
    return response


async def post_preferences(request: Request) -> Response:
    applied, refused = await _limited(request)
    if refused is not None:
        return refused
    async with request.form(max_files=0, max_fields=_MAX_FORM_FIELDS) as form:
        token = form.get("token") or request.query_params.get("token") or ""
        action = form.get("action")
        joined = {value for value in form.getlist("topic") if isinstance(value, str)}
    deps = deps_of(request)
    try:
        if action == "leave":
            found = await leave_everything(deps, token)
            said = "You are unsubscribed from everything. You will get no more emails from us."
        else:
            found = await save_preferences(deps, token, joined)
            said = "Your preferences are saved."
    except Invalid as error:
        log_client_error(request, 400, error.message)
        return _broken()
    response = _page("Email preferences", _form(str(token), found, said))
    add_rate_headers(response, applied)
    return response


routes = [resource("/preferences", GET=get_preferences, POST=post_preferences)]

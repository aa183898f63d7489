"""What every dashboard page shares: the signed-in visit, CSRF, the session cookie, rendering.

A page handler is wrapped by `page()`: no session, a redirect to sign in (htmx asks for the same
through HX-Redirect); a POST without the session's CSRF token, 403; an owner-only page for a member,
403. CSRF tokens are the session id signed with the server secret, so nothing is stored for them.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from autorelay_core.domain.callers import MANAGE, Caller
from autorelay_core.domain.emails import Email
from autorelay_core.domain.keys import KeyMode
from autorelay_core.domain.users import SESSION_LIFETIME
from autorelay_core.errors import Forbidden, NotFound
from autorelay_core.usecases.access import admit
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.manage_users import Visit, visit
from autorelay_core.usecases.send_email import SendCommand, send_email

COOKIE = "autorelay_session"
Handler = Callable[..., Awaitable[Response]]
T = TypeVar("T")

_env = Environment(loader=PackageLoader("adapters.dashboard", "templates"), autoescape=select_autoescape())


def _ago(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    seconds = int((datetime.now(UTC) - moment).total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "min")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 and unit != 'min' else ''} ago"
    return "just now"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


_env.filters.update(ago=_ago, when=_when)


def deps_of(request: Request) -> Deps:
    return request.app.state.services.deps


def render(request: Request, template: str, status: int = 200, /, **context: Any) -> HTMLResponse:
    current: Visit | None = getattr(request.state, "visit", None)
    context.setdefault("visit", current)
    context.setdefault("csrf", csrf_token(request, current) if current else "")
    context.setdefault("nav", template.split("/")[0].removesuffix(".html"))
    context["base_url"] = request.app.state.base_url
    return HTMLResponse(_env.get_template(template).render(**context), status_code=status)


def missing(request: Request, what: str) -> HTMLResponse:
    """The page for a record this project does not have (another project's id reads the same)."""
    return render(request, "error.html", 404, title=f"No such {what}", message=f"This project has no such {what}.")


async def or_none(load: Awaitable[T]) -> T | None:
    """The record a use case loads, or None where it raises NotFound (the page then answers `missing`)."""
    try:
        return await load
    except NotFound:
        return None


def csrf_token(request: Request, current: Visit) -> str:
    return deps_of(request).signer.sign("csrf", (current.session.id,))


def _csrf_ok(request: Request, current: Visit, presented: str | None) -> bool:
    fields = deps_of(request).signer.unsign("csrf", presented or "")
    return fields is not None and len(fields) == 1 and hmac.compare_digest(fields[0], current.session.id)


def page(*, owner: bool = False, field_bytes: int = 1024 * 1024) -> Callable[[Handler], Handler]:
    """`field_bytes`: the largest form field the page accepts (the studio's designs are larger
    than a form's usual megabyte)."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapper(request: Request) -> Response:
            current = await visit(deps_of(request), request.cookies.get(COOKIE))
            if current is None:
                return to_sign_in(request)
            request.state.visit = current
            if request.method == "POST":
                form = await request.form(max_part_size=field_bytes)
                presented = request.headers.get("x-csrf-token") or form.get("csrf")
                if not _csrf_ok(request, current, presented if isinstance(presented, str) else None):
                    return render(request, "error.html", 403, title="Form expired", message=_CSRF_HELP)
                request.state.form = form
            if owner:
                try:
                    await admit(deps_of(request), caller_of(current), scope=MANAGE, status=False)
                except Forbidden as refused:
                    return render(request, "error.html", 403, title="Owners only", message=refused.message)
            return await handler(request, current)

        return wrapper

    return decorate


_CSRF_HELP = "This form was not sent by this page (or the page is too old). Go back, reload it and try again."


def to_sign_in(request: Request) -> Response:
    target = "/app/sign-in?next=" + quote(request.url.path)
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def set_session(response: Response, request: Request, token: str) -> Response:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/app",
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
    )
    return response


def clear_session(response: Response, request: Request) -> Response:
    response.delete_cookie(COOKIE, path="/app", httponly=True, samesite="lax", secure=request.app.state.secure_cookies)
    return response


def form_value(request: Request, name: str, default: str = "") -> str:
    value = request.state.form.get(name, default)
    return value if isinstance(value, str) else default


# An email's HTML shown on a page runs in a sandbox (an opaque origin, no scripts, no forms), may
# show images, and cannot reach the dashboard.
PREVIEW_POLICY = (
    "sandbox; default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; font-src https: data:"
)


# A stranger's HTML (received mail) loads nothing from elsewhere: a remote image would tell its
# sender the message was read, and from where.
STRANGER_POLICY = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def sandboxed(body: str, policy: str = PREVIEW_POLICY) -> Response:
    """A tenant's HTML (or, with STRANGER_POLICY, a stranger's) as a page of its own, for an
    <iframe sandbox> on ours."""
    headers = {"Content-Security-Policy": policy, "X-Frame-Options": "SAMEORIGIN"}
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


def json_error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def caller_of(visit: Visit, mode: KeyMode = KeyMode.LIVE) -> Caller:
    """The signed-in user as the core's caller, in the project they are looking at: limited per user
    like a key, with what their role allows."""
    return Caller.for_user(visit.user.id, visit.session.project_id, visit.role, mode)


async def test_send(request: Request, visit: Visit, command: SendCommand) -> Email:
    """A test send from a page, down the API's path for a test key: limited like the API's sends and
    refused like them while the account is locked. It reaches the test-mode log, never a mailbox."""
    deps, caller = deps_of(request), caller_of(visit, KeyMode.TEST)
    await admit(deps, caller, scope="emails.send", limited_as="emails.send")
    return await send_email(deps, caller, command)

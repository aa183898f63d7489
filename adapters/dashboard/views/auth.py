"""Signing in and out, the sign-in link's set-password page, and switching projects."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.dashboard.pages import clear_session, deps_of, form_value, page, render, set_session
from autorelay_core.errors import Invalid, NotFound, RateLimited, Unauthenticated
from autorelay_core.usecases import manage_users as uc
from autorelay_core.usecases.manage_users import Visit


def _next(request: Request, value: str | None) -> str:
    # Only paths inside the dashboard: never an open redirect.
    return value if value and value.startswith("/app/") and not value.startswith("/app//") else "/app/overview"


def _cross_site(request: Request) -> bool:
    """A sign-in posted from another site's page (login CSRF): the browser says so in Origin."""
    origin = request.headers.get("origin")
    if origin is None:
        return False
    own = {request.app.state.base_url, f"{request.url.scheme}://{request.url.netloc}"}
    return origin.rstrip("/") not in own


async def sign_in(request: Request) -> Response:
    target = _next(request, request.query_params.get("next"))
    if request.method == "GET":
        return render(request, "sign_in.html", next=target, email="")
    if _cross_site(request):
        return render(request, "error.html", 403, title="Not from this site", message=_CROSS_SITE)
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    client = request.client.host if request.client else "unknown"
    try:
        signed = await uc.sign_in(deps_of(request), email, password, client)
    except (Unauthenticated, RateLimited) as error:
        status = 429 if isinstance(error, RateLimited) else 401
        return render(request, "sign_in.html", status, next=target, email=email, error=error.message)
    return set_session(RedirectResponse(target, status_code=303), request, signed.token)


async def welcome(request: Request) -> Response:
    """The sign-in link: choose a password (the first owner also chooses their email)."""
    deps = deps_of(request)
    token = request.query_params.get("token", "")
    try:
        user = await uc.redeem(deps, token)
    except Invalid as broken:
        return render(request, "error.html", 400, title="This link does not work", message=broken.message)
    first_owner = user.email == uc.FIRST_OWNER
    if request.method == "GET":
        return render(request, "welcome.html", token=token, user=user, first_owner=first_owner)
    if _cross_site(request):
        return render(request, "error.html", 403, title="Not from this site", message=_CROSS_SITE)
    form = await request.form()
    email = str(form.get("email", "")) if first_owner else None
    password, again = str(form.get("password", "")), str(form.get("password_again", ""))
    error = None
    if password != again:
        error = "The two passwords differ"
    else:
        try:
            signed = await uc.set_password(deps, token, password, email)
        except Invalid as refused:
            error = refused.message
    if error is not None:
        return render(request, "welcome.html", 400, token=token, user=user, first_owner=first_owner, error=error)
    return set_session(RedirectResponse("/app/overview", status_code=303), request, signed.token)


@page()
async def sign_out(request: Request, visit: Visit) -> Response:
    await uc.sign_out(deps_of(request), request.cookies.get("autorelay_session"))
    return clear_session(RedirectResponse("/app/sign-in", status_code=303), request)


@page()
async def switch(request: Request, visit: Visit) -> Response:
    try:
        await uc.switch_project(deps_of(request), visit, form_value(request, "project"))
    except NotFound as error:
        return render(request, "error.html", 404, title="No such project", message=error.message)
    return RedirectResponse("/app/overview", status_code=303)


_CROSS_SITE = "This form was sent from another site. Open the dashboard's own page and try again."

routes = [
    Route("/sign-in", sign_in, methods=["GET", "POST"]),
    Route("/welcome", welcome, methods=["GET", "POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
    Route("/switch", switch, methods=["POST"]),
]

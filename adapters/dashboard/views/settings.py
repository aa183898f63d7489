"""Project settings: tracking switches, the rate limits in force, and members (owners invite and
remove; an invitation shows its sign-in link once)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.dashboard.pages import caller_of, deps_of, form_value, page, render, set_session
from autorelay_core.domain.users import Role
from autorelay_core.errors import Conflict, Invalid
from autorelay_core.policies.rate_limit import LIMITS
from autorelay_core.usecases import manage_keys, manage_users, queries
from autorelay_core.usecases.enforce_limits import limits_for
from autorelay_core.usecases.manage_users import Visit


async def _page(request: Request, visit: Visit, status: int = 200, **extra) -> Response:
    deps = deps_of(request)
    project = await manage_keys.get_project(deps, caller_of(visit))
    limits = [(endpoint, await limits_for(deps, caller_of(visit), endpoint)) for endpoint in LIMITS]
    members = await queries.members(deps, caller_of(visit))
    return render(request, "settings.html", status, project=project, limits=limits, members=members, **extra)


@page()
async def settings(request: Request, visit: Visit) -> Response:
    return await _page(request, visit, password_changed=request.query_params.get("done") == "password")


@page()
async def change_password(request: Request, visit: Visit) -> Response:
    """Any member, for themselves: the current password, then the new one twice."""
    new, again = form_value(request, "password"), form_value(request, "password_again")
    if new != again:
        return await _page(request, visit, 400, password_error="The two new passwords differ")
    try:
        signed_in = await manage_users.change_password(deps_of(request), visit, form_value(request, "current"), new)
    except Invalid as error:
        return await _page(request, visit, 400, password_error=error.message)
    response = RedirectResponse("/app/settings?done=password", status_code=303)
    return set_session(response, request, signed_in.token)


@page(owner=True)
async def rename(request: Request, visit: Visit) -> Response:
    try:
        await manage_keys.rename_project(deps_of(request), caller_of(visit), form_value(request, "name"))
    except (Invalid, Conflict) as error:
        return await _page(request, visit, 400, error=error.message)
    return RedirectResponse("/app/settings", status_code=303)


@page(owner=True)
async def tracking(request: Request, visit: Visit) -> Response:
    form = request.state.form
    await manage_keys.set_tracking(
        deps_of(request), caller_of(visit), opens=form.get("opens") == "on", clicks=form.get("clicks") == "on"
    )
    return RedirectResponse("/app/settings", status_code=303)


@page(owner=True)
async def invite(request: Request, visit: Visit) -> Response:
    deps = deps_of(request)
    role = Role.OWNER if form_value(request, "role") == "owner" else Role.MEMBER
    try:
        invitation = await manage_users.invite(deps, caller_of(visit), form_value(request, "email"), role)
    except Invalid as error:
        return await _page(request, visit, 400, error=error.message)
    token = invitation.link_token
    link = f"{request.app.state.base_url}/app/welcome?token={token}" if token else None
    return await _page(request, visit, 201, invited=invitation.user, invited_role=role.value, link=link)


@page(owner=True)
async def remove_member(request: Request, visit: Visit) -> Response:
    try:
        await manage_users.remove_member(deps_of(request), visit, form_value(request, "user"))
    except Invalid as error:
        return await _page(request, visit, 400, error=error.message)
    return RedirectResponse("/app/settings", status_code=303)


routes = [
    Route("/settings", settings, methods=["GET"]),
    Route("/settings/password", change_password, methods=["POST"]),
    Route("/settings/name", rename, methods=["POST"]),
    Route("/settings/tracking", tracking, methods=["POST"]),
    Route("/settings/members", invite, methods=["POST"]),
    Route("/settings/members/remove", remove_member, methods=["POST"]),
]

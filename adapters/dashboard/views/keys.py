"""API keys: the list, creating one (shown once, with a copy button), revoking one (owners)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.dashboard.pages import caller_of, deps_of, page, render
from autorelay_core.domain.keys import SCOPES, KeyMode
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.usecases import manage_keys
from autorelay_core.usecases.manage_users import Visit


async def _page(request: Request, visit: Visit, status: int = 200, **extra) -> Response:
    keys = await manage_keys.list_keys(deps_of(request), caller_of(visit))
    keys.sort(key=lambda k: (k.revoked_at is not None, -k.created_at.timestamp()))
    return render(request, "keys.html", status, keys=keys, scopes=SCOPES, **extra)


@page()
async def list_keys(request: Request, visit: Visit) -> Response:
    return await _page(request, visit)


@page(owner=True)
async def create_key(request: Request, visit: Visit) -> Response:
    form = request.state.form
    mode = KeyMode.TEST if form.get("mode") == "test" else KeyMode.LIVE
    scopes = tuple(str(s) for s in form.getlist("scope")) or ("full",)
    name = str(form.get("name", "")).strip()[:100]
    try:
        issued = await manage_keys.create_key(deps_of(request), caller_of(visit), mode, name, scopes)
    except Invalid as error:
        return await _page(request, visit, 400, error=error.message)
    return await _page(request, visit, 201, issued=issued)


@page(owner=True)
async def revoke_key(request: Request, visit: Visit) -> Response:
    deps = deps_of(request)
    try:
        key = await manage_keys.project_key(deps, caller_of(visit), request.path_params["key_id"])
    except NotFound as error:
        return render(request, "error.html", 404, title="No such key", message=error.message)
    await manage_keys.revoke_key(deps, key.id)
    return RedirectResponse("/app/keys", status_code=303)


routes = [
    Route("/keys", list_keys, methods=["GET"]),
    Route("/keys", create_key, methods=["POST"]),
    Route("/keys/{key_id}/revoke", revoke_key, methods=["POST"]),
]

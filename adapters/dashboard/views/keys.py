"""API keys: the list, creating one (shown once, with a copy button), revoking one (owners).

Creating answers with a redirect (POST, redirect, GET), so reloading the page never makes a second
key. The new key reaches the page it lands on in a cookie sealed with the server secret, for that
page only and for a minute; the page shows it once and clears it. The database keeps only its hash."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.dashboard.pages import caller_of, deps_of, or_none, page, render
from autorelay_core.domain.keys import SCOPES, KeyMode
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.usecases import manage_keys
from autorelay_core.usecases.manage_keys import IssuedKey
from autorelay_core.usecases.manage_users import Visit

NEW_KEY = "autorelay_new_key"
NEW_KEY_SECONDS = 60


async def _page(request: Request, visit: Visit, status: int = 200, **extra) -> Response:
    keys = await manage_keys.list_keys(deps_of(request), caller_of(visit))
    keys.sort(key=lambda k: (k.revoked_at is not None, -k.created_at.timestamp()))
    return render(request, "keys.html", status, keys=keys, scopes=SCOPES, **extra)


@page()
async def list_keys(request: Request, visit: Visit) -> Response:
    created = request.query_params.get("created")
    if not created:
        return await _page(request, visit)
    issued = None
    plain = _unsealed(request, created)
    if plain is not None:
        key = await or_none(manage_keys.project_key(deps_of(request), caller_of(visit), created))
        issued = IssuedKey(key, plain) if key is not None else None
    response = await _page(request, visit, issued=issued, created=None if issued else created)
    response.delete_cookie(NEW_KEY, path="/app/keys", httponly=True, samesite="strict")
    return response


def _unsealed(request: Request, key_id: str) -> str | None:
    """The new key from its one-minute cookie, if the cookie is for this key and still fresh."""
    sealed = request.cookies.get(NEW_KEY)
    if not sealed:
        return None
    try:
        kept_id, plain, made = deps_of(request).sealer.open(sealed).split(" ")
    except ValueError:
        return None
    fresh = deps_of(request).clock.now().timestamp() - float(made) <= NEW_KEY_SECONDS
    return plain if kept_id == key_id and fresh else None


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
    deps = deps_of(request)
    sealed = deps.sealer.seal(f"{issued.key.id} {issued.plain} {deps.clock.now().timestamp()}")
    response = RedirectResponse(f"/app/keys?created={issued.key.id}", status_code=303)
    response.set_cookie(
        NEW_KEY,
        sealed,
        max_age=NEW_KEY_SECONDS,
        path="/app/keys",
        httponly=True,
        samesite="strict",
        secure=request.app.state.secure_cookies,
    )
    return response


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

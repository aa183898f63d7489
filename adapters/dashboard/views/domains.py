"""Sending domains (add, records with copy buttons, verify now) and the suppression list."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.dashboard.pages import caller_of, deps_of, form_value, page, render
from autorelay_core.domain.addresses import is_valid_address
from autorelay_core.errors import Conflict, Invalid, NotFound, RateLimited
from autorelay_core.policies.rate_limit import LIMITS, refuse
from autorelay_core.usecases import manage_domains, manage_suppressions
from autorelay_core.usecases.manage_suppressions import lift_suppression
from autorelay_core.usecases.manage_users import Visit

_CONTROL = "The search may not hold control characters (an address prefix, like ana@ or @example.com)."

VERIFY_LIMITED_AS = "domains.verify"


async def _domains_page(request: Request, visit: Visit, status: int = 200, **extra) -> Response:
    deps = deps_of(request)
    found = await manage_domains.list_domains(deps, caller_of(visit))
    listed = [(d, manage_domains.records(deps, d)) for d in found]
    return render(request, "domains.html", status, domains=listed, **extra)


@page()
async def domains(request: Request, visit: Visit) -> Response:
    return await _domains_page(request, visit)


@page()
async def add_domain(request: Request, visit: Visit) -> Response:
    try:
        await manage_domains.create_domain(deps_of(request), caller_of(visit), form_value(request, "domain"))
    except (Invalid, Conflict) as error:
        return await _domains_page(request, visit, 400, error=error.message, name=form_value(request, "domain"))
    return RedirectResponse("/app/domains", status_code=303)


@page()
async def verify(request: Request, visit: Visit) -> Response:
    deps = deps_of(request)
    domain_id = request.path_params["domain_id"]
    try:
        # The API's verify budget, per user here (no key): each check makes DNS queries on our side.
        now = deps.clock.now().timestamp()
        for limit in LIMITS[VERIFY_LIMITED_AS]:
            admission = await deps.rate_limits.hit(f"{VERIFY_LIMITED_AS}|user:{visit.user.id}", now, limit)
            if not admission.allowed:
                raise refuse(admission, now, limit)
        result = await manage_domains.verify_domain(deps, caller_of(visit), domain_id)
    except (NotFound, RateLimited) as error:
        return await _domains_page(request, visit, 429 if isinstance(error, RateLimited) else 404, error=error.message)
    missing = ", ".join(f"{r.type} {r.name}" for r in result.missing)
    note = f"{result.domain.name} is verified." if not missing else f"Not found yet: {missing}"
    return await _domains_page(request, visit, notice=note)


@page()
async def suppressions(request: Request, visit: Visit) -> Response:
    deps = deps_of(request)
    search = request.query_params.get("q", "").strip().lower()[:320]
    if any(c < " " or c == "\x7f" for c in search):
        return render(request, "error.html", 400, title="Bad search", message=_CONTROL)
    after = request.query_params.get("after") or None
    if after is not None and not is_valid_address(after):
        after = None
    # The store pages by address (keyset): a search for a prefix starts just before it.
    start = search[:-1] + chr(ord(search[-1]) - 1) + "\uffff" if search else after
    found = await manage_suppressions.suppression_page(deps, caller_of(visit), 101, start)
    if search:
        found = [s for s in found if s.email_key.startswith(search)]
    shown = found[:100]
    more = shown[-1].email_key if len(found) > 100 else None
    return render(request, "suppressions.html", suppressions=shown, q=search, next_after=more and quote(more))


@page()
async def unsuppress(request: Request, visit: Visit) -> Response:
    try:
        await lift_suppression(deps_of(request), caller_of(visit), form_value(request, "email"))
    except NotFound:
        pass  # already lifted (two tabs, a second click): the list shows the state either way
    return RedirectResponse("/app/suppressions", status_code=303)


routes = [
    Route("/domains", domains, methods=["GET"]),
    Route("/domains", add_domain, methods=["POST"]),
    Route("/domains/{domain_id}/verify", verify, methods=["POST"]),
    Route("/suppressions", suppressions, methods=["GET"]),
    Route("/suppressions/remove", unsuppress, methods=["POST"]),
]

"""Sending domains (add, records with copy buttons, verify now) and the suppression list."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.dashboard.pages import caller_of, deps_of, form_value, page, render
from autorelay_core.domain.addresses import is_valid_address
from autorelay_core.errors import Conflict, Invalid, NotFound, RateLimited
from autorelay_core.usecases import manage_domains, manage_suppressions
from autorelay_core.usecases.access import admit
from autorelay_core.usecases.manage_domains import Verification
from autorelay_core.usecases.manage_suppressions import lift_suppression
from autorelay_core.usecases.manage_users import Visit

_CONTROL = "The search may not hold control characters (an address prefix, like ana@ or @example.com)."

VERIFY_LIMITED_AS = "domains.verify"


async def _domains_page(
    request: Request, visit: Visit, status: int = 200, checked: Verification | None = None, **extra
) -> Response:
    """`checked`: a verification just run, whose records get a found / not found mark."""
    deps = deps_of(request)
    found = await manage_domains.list_domains(deps, caller_of(visit))
    listed = []
    for domain in found:
        records = manage_domains.records(deps, domain)
        if checked is not None and checked.domain.id == domain.id:
            marks = ["missing" if record in checked.missing else "found" for record in records]
        else:  # DNS is asked only when someone verifies: each check costs queries on our side
            marks = ["unchecked"] * len(records)
        listed.append((domain, list(zip(records, marks, strict=True))))
    return render(request, "domains.html", status, domains=listed, **extra)


@page()
async def domains(request: Request, visit: Visit) -> Response:
    removed = request.query_params.get("removed", "")[:253]
    if removed and is_domain_like(removed):
        return await _domains_page(request, visit, notice=f"{removed} was removed: live keys no longer send from it.")
    return await _domains_page(request, visit)


def is_domain_like(text: str) -> bool:
    """A name to repeat in a notice: letters, digits, dots and dashes only (it comes from the URL)."""
    return all(c.isalnum() or c in ".-" for c in text)


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
        # The API's verify budget, per user here: each check makes DNS queries on our side.
        await admit(deps, caller_of(visit), limited_as=VERIFY_LIMITED_AS, status=False)
        result = await manage_domains.verify_domain(deps, caller_of(visit), domain_id)
    except (NotFound, RateLimited) as error:
        return await _domains_page(request, visit, 429 if isinstance(error, RateLimited) else 404, error=error.message)
    if not result.missing:
        return await _domains_page(request, visit, notice=f"{result.domain.name} is verified.", checked=result)
    count = len(result.missing)
    warning = (
        f"{result.domain.name} is not verified yet: {count} record{'s' if count > 1 else ''} not found in DNS"
        " (marked below). DNS changes can take a while to show; verify again later."
    )
    return await _domains_page(request, visit, warning=warning, checked=result)


@page()
async def delete_domain(request: Request, visit: Visit) -> Response:
    deps, domain_id = deps_of(request), request.path_params["domain_id"]
    try:
        domain = await manage_domains.get_domain(deps, caller_of(visit), domain_id)
        await manage_domains.delete_domain(deps, caller_of(visit), domain_id)
    except NotFound as error:
        return await _domains_page(request, visit, 404, error=error.message)
    return RedirectResponse(f"/app/domains?removed={quote(domain.name)}", status_code=303)


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
    added = request.query_params.get("added", "")[:320]
    notice = f"{added} is suppressed: no email goes to it from now on." if added and is_valid_address(added) else None
    return render(
        request, "suppressions.html", suppressions=shown, q=search, next_after=more and quote(more), notice=notice
    )


@page()
async def suppress(request: Request, visit: Visit) -> Response:
    """An address suppressed by hand (a recipient who asked by phone or letter not to be mailed)."""
    address = form_value(request, "email").strip()
    try:
        await manage_suppressions.add_suppression(
            deps_of(request), caller_of(visit), address, form_value(request, "note")
        )
    except Invalid as error:
        found = await manage_suppressions.suppression_page(deps_of(request), caller_of(visit), 100, None)
        return render(request, "suppressions.html", 400, suppressions=found, q="", error=error.message, typed=address)
    return RedirectResponse(f"/app/suppressions?added={quote(address)}", status_code=303)


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
    Route("/domains/{domain_id}/delete", delete_domain, methods=["POST"]),
    Route("/suppressions", suppressions, methods=["GET"]),
    Route("/suppressions", suppress, methods=["POST"]),
    Route("/suppressions/remove", unsuppress, methods=["POST"]),
]

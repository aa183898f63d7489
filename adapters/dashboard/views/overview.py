"""The overview: the last 30 days per day as a chart, quota and sandbox use, the account's status."""

from __future__ import annotations

import json
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.dashboard.pages import caller_of, deps_of, page, render
from autorelay_core.domain.domains import DomainStatus
from autorelay_core.domain.emails import EmailStatus
from autorelay_core.policies.pagination import CursorRequest, Order
from autorelay_core.ports import EmailFilter
from autorelay_core.usecases import manage_domains, queries
from autorelay_core.usecases.manage_users import Visit
from autorelay_core.usecases.read_stats import read_stats

SERIES = ("sent", "delivered", "bounced", "complained", "opened", "clicked")
DAYS = 30


@page()
async def overview(request: Request, visit: Visit) -> Response:
    deps = deps_of(request)
    stats = await read_stats(deps, caller_of(visit))
    today = deps.clock.now().date()
    days = [(today - timedelta(days=n)).isoformat() for n in range(DAYS - 1, -1, -1)]
    counts = {
        (day, kind): count
        for day, kind, count in await queries.daily_activity(
            deps, caller_of(visit), deps.clock.now() - timedelta(days=DAYS)
        )
    }
    series = {kind: [counts.get((day, kind), 0) for day in days] for kind in SERIES}
    chart = json.dumps({"days": days, "series": series})
    totals = {kind: sum(values) for kind, values in series.items()}
    # A domain counts as a sending domain once verified: live keys cannot send from the others.
    domains = await manage_domains.list_domains(deps, caller_of(visit))
    verified = sum(1 for domain in domains if domain.status is DomainStatus.VERIFIED)
    # A project with a verified domain and live mail this month is past its first steps: its page
    # skips their queries (each email query counts its matches, costly for a large project).
    established = verified > 0 and stats.emails_this_month > 0 and totals.get("sent", 0) > 0
    steps = [] if established else await _first_steps(request, visit, verified)
    return render(
        request,
        "overview.html",
        stats=stats,
        chart=chart,
        totals=totals,
        quota=deps.config.monthly_quota,
        sandbox_cap=deps.config.sandbox_daily_cap,
        sandbox_sender=deps.config.sandbox_sender,
        support_contact=deps.config.support_contact,
        verified_domains=verified,
        steps=steps if not all(done for _, done, _ in steps) else [],
    )


_DELIVERED = {EmailStatus.SENT, EmailStatus.OPENED, EmailStatus.CLICKED}


async def _first_steps(request: Request, visit: Visit, verified: int) -> list[tuple[str, bool, str]]:
    """A newcomer's checklist, shown until every step is done: (what, done, where to do it)."""
    deps, caller = deps_of(request), caller_of(visit)
    newest = CursorRequest(limit=20, order=Order.DESC)
    tested = (await queries.search_emails(deps, caller, CursorRequest(limit=1), EmailFilter(test=True))).items
    live = (await queries.search_emails(deps, caller, newest, EmailFilter(test=False))).items
    return [
        ("Send a test email with the test key (it lands in the email log, nothing leaves)", bool(tested), "/app/keys"),
        ("Add your sending domain and publish its DNS records until it is verified", verified > 0, "/app/domains"),
        ("Send a live email from it and see it delivered", any(e.status in _DELIVERED for e in live), "/app/emails"),
    ]


routes = [Route("/overview", overview)]

"""/stats: the reference's counters, with the account's status, 24 h rates and quota beside them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.responses import JSON
from adapters.http.routing import resource
from autorelay_core.usecases.read_stats import read_stats


@requires("stats.read")
async def get_stats(request: Request) -> Response:
    deps = deps_of(request)
    stats = await read_stats(deps, caller_of(request))
    config = deps.config
    return JSON(
        {
            "contacts": stats.contacts,
            "campaigns": {
                "total": stats.campaigns.total,
                "sending": stats.campaigns.sending,
                "completed": stats.campaigns.completed,
            },
            "emailsThisMonth": stats.emails_this_month,
            "domains": stats.domains,
            "accountStatus": stats.project.status.value,
            "statusReason": stats.project.status_reason or None,
            "last24h": {
                "sends": stats.activity.sends,
                "bounces": stats.activity.bounces,
                "complaints": stats.activity.complaints,
                "bounceRate": round(float(stats.activity.bounce_rate), 6),
                "complaintRate": round(float(stats.activity.complaint_rate), 6),
            },
            "quota": {
                "monthly": {"used": stats.emails_this_month, "limit": config.monthly_quota},
                "sandboxToday": {"used": stats.sandbox_today, "limit": config.sandbox_daily_cap},
            },
            "warmup": [
                {
                    "domain": w.domain,
                    "day": w.day,
                    "days": w.days,
                    "todayLimit": w.allowance,
                    "sentLast24h": w.sent_last_24h,
                }
                for w in stats.warmups
            ],
        }
    )


routes = [resource("/api/v1/stats", GET=get_stats)]

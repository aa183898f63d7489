"""/campaigns: drafts with the reference's shapes (`{success, data}`, offset pages)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json, structure
from adapters.http.responses import JSON, iso, pagination
from adapters.http.routing import resource
from autorelay_core.domain.ab_tests import Metric, name
from autorelay_core.domain.campaigns import Campaign
from autorelay_core.domain.emails import EmailStatus
from autorelay_core.errors import Invalid
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.usecases import manage_campaigns as uc
from autorelay_core.usecases.ab_winner import Results, choose_winner, results


def summary(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status.value,
        "listId": campaign.list_id,
        "segmentId": campaign.segment_id,
        "topicId": campaign.topic_id,
        "sentCount": campaign.sent,
        "createdAt": iso(campaign.created_at),
    }


def ab_view(campaign: Campaign, found: Results | None = None) -> dict[str, Any] | None:
    """The test as given, where it stands (winner, when it decides) and, when read, each variant's
    numbers in the test share."""
    test = campaign.ab_test
    if test is None:
        return None
    started = campaign.starts_at or campaign.launched_at
    variants = []
    for index, variant in enumerate(test.variants):
        shown: dict[str, Any] = {"name": name(index)}
        shown |= {"subject": variant.subject, "fromName": variant.from_name, "content": variant.content}
        if found is not None:
            result = found.by_variant[index]
            shown["results"] = {
                "sent": result.sent,
                "opened": result.opened,
                "clicked": result.clicked,
                "openRate": round(result.rate(Metric.OPENS), 4),
                "clickRate": round(result.rate(Metric.CLICKS), 4),
            }
        variants.append(shown)
    return {
        "variants": variants,
        "testPercent": test.test_percent,
        "metric": test.metric.value,
        "waitMinutes": test.wait_minutes,
        "pick": "auto" if test.automatic else "manual",
        "winner": None if test.winner is None else name(test.winner),
        "leader": None if found is None or test.winner is not None or found.ahead is None else name(found.ahead),
        "decidesAt": iso(test.decides_at(started)) if started and test.automatic else None,
        "decidedAt": iso(test.decided_at),
    }


def detail(
    campaign: Campaign, statuses: dict[EmailStatus, int] | None = None, found: Results | None = None
) -> dict[str, Any]:
    n = uc.numbers(campaign, statuses)
    return {
        **summary(campaign),
        "subject": campaign.subject,
        "fromEmail": campaign.from_email,
        "content": campaign.content,
        "updatedAt": iso(campaign.updated_at),
        "launchedAt": iso(campaign.launched_at),
        "progress": {
            "total": n.total,
            "sent": n.sent,
            "failed": n.failed,
            "uncertain": n.uncertain,
            "percent": n.percent,
        },
        "stats": {
            "delivered": n.delivered,
            "opened": n.opened,
            "clicked": n.clicked,
            "bounced": n.bounced,
            "complained": n.complained,
            "unsubscribed": n.unsubscribed,
        },
        "abTest": ab_view(campaign, found),
    }


@requires("campaigns.write")
async def create_campaign(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), uc.CampaignInput)
    campaign = await uc.create_campaign(deps_of(request), caller_of(request), fields)
    return JSON(detail(campaign), status_code=201)


@requires("campaigns.read")
async def list_campaigns(request: Request) -> Response:
    query = request.query_params
    page = OffsetRequest.parse(query.get("page"), query.get("pageSize"), default=20, maximum=100)
    found = await uc.list_campaigns(deps_of(request), caller_of(request), query.get("status"), page)
    return JSON(
        {
            "success": True,
            "data": [summary(c) for c in found.items],
            "pagination": pagination(page, found.total),
        }
    )


@requires("campaigns.read")
async def read_campaign(request: Request) -> Response:
    deps = deps_of(request)
    campaign = await uc.get_campaign(deps, caller_of(request), request.path_params["campaign_id"])
    live = await uc.progress(deps, campaign)
    found = await results(deps, live.campaign)
    return JSON({"success": True, "data": detail(live.campaign, live.statuses, found)})


@requires("campaigns.write")
async def pick_winner(request: Request) -> Response:
    body = parse_json(await request.body())
    if not isinstance(body, dict) or set(body) != {"variant"}:
        raise Invalid('the body must be {"variant": "A"} (the letter of the winning variant)', field="variant")
    deps = deps_of(request)
    campaign = await choose_winner(deps, caller_of(request), request.path_params["campaign_id"], body["variant"])
    found = await results(deps, campaign)
    return JSON({"success": True, "data": detail(campaign, None, found)})


@requires("campaigns.write")
async def launch_campaign(request: Request) -> Response:
    campaign = await uc.launch_campaign(deps_of(request), caller_of(request), request.path_params["campaign_id"])
    return JSON({"success": True, "jobId": f"job_{campaign.id.removeprefix('cmp_')}", "status": campaign.status.value})


@requires("campaigns.write")
async def update_campaign(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), uc.CampaignInput)
    campaign = await uc.update_campaign(
        deps_of(request), caller_of(request), request.path_params["campaign_id"], fields
    )
    return JSON({"success": True, "data": detail(campaign)})


@requires("campaigns.write")
async def delete_campaign(request: Request) -> Response:
    campaign_id = request.path_params["campaign_id"]
    await uc.delete_campaign(deps_of(request), caller_of(request), campaign_id)
    return JSON({"id": campaign_id, "deleted": True})


routes = [
    resource("/api/v1/campaigns", GET=list_campaigns, POST=create_campaign),
    resource("/api/v1/campaigns/{campaign_id}", GET=read_campaign, PUT=update_campaign, DELETE=delete_campaign),
    resource("/api/v1/campaigns/{campaign_id}/launch", POST=launch_campaign),
    resource("/api/v1/campaigns/{campaign_id}/winner", POST=pick_winner),
]

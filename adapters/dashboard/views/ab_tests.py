"""A campaign's A/B test in the dashboard: set on the draft (variants B to D against the draft
itself as A), and, once launched, each variant's numbers and the winner picked by hand."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.dashboard.pages import caller_of, deps_of, form_value, missing, page
from adapters.dashboard.views.campaigns import campaign_of, detail_page
from autorelay_core.domain.ab_tests import LETTERS
from autorelay_core.domain.templates import MAX_TEMPLATE_CHARS
from autorelay_core.errors import AutoRelayError
from autorelay_core.usecases import manage_campaigns as uc
from autorelay_core.usecases.ab_winner import choose_winner
from autorelay_core.usecases.manage_users import Visit

_UNITS = {"minutes": 1, "hours": 60, "days": 1440}


def _test_from_form(request: Request) -> dict[str, Any]:
    """The A/B form as the API's abTest: A is the draft itself; B to D each a variant when any of
    its fields is filled."""
    variants: list[dict[str, str]] = [{}]
    for letter in LETTERS[1:]:
        fields = {
            "subject": form_value(request, f"subject_{letter}").strip(),
            "fromName": form_value(request, f"from_name_{letter}").strip(),
            "content": form_value(request, f"content_{letter}"),
        }
        given = {key: value for key, value in fields.items() if value.strip()}
        if given:
            variants.append(given)
    test: dict[str, Any] = {"variants": variants, "metric": form_value(request, "metric") or "opens"}
    test["pick"] = form_value(request, "pick") or "auto"
    for field, name in (("testPercent", "test_percent"), ("waitMinutes", "wait")):
        text = form_value(request, name).strip()
        test[field] = int(text) if text.isdigit() else text  # the core names anything else
    if isinstance(test["waitMinutes"], int):
        test["waitMinutes"] *= _UNITS.get(form_value(request, "wait_unit"), 60)
    return test


@page(field_bytes=4 * MAX_TEMPLATE_CHARS)
async def save_test(request: Request, visit: Visit) -> Response:
    campaign = await campaign_of(request, visit)
    if campaign is None:
        return missing(request, "campaign")
    wanted = False if form_value(request, "action") == "remove" else _test_from_form(request)
    try:
        await uc.update_campaign(deps_of(request), caller_of(visit), campaign.id, uc.CampaignInput(ab_test=wanted))
    except AutoRelayError as error:
        return await detail_page(request, visit, campaign, 400, error=f"A/B test not saved: {error.message}")
    return RedirectResponse(f"/app/campaigns/{campaign.id}?done=saved#ab-test", status_code=303)


@page()
async def pick(request: Request, visit: Visit) -> Response:
    campaign = await campaign_of(request, visit)
    if campaign is None:
        return missing(request, "campaign")
    try:
        await choose_winner(deps_of(request), caller_of(visit), campaign.id, form_value(request, "variant"))
    except AutoRelayError as error:
        return await detail_page(request, visit, campaign, 409, error=error.message)
    return RedirectResponse(f"/app/campaigns/{campaign.id}?done=picked", status_code=303)


routes = [
    Route("/campaigns/{campaign_id}/ab", save_test, methods=["POST"]),
    Route("/campaigns/{campaign_id}/winner", pick, methods=["POST"]),
]

"""Campaigns at /app/campaigns: compose from a template or from scratch, pick a list, preview with
a real contact's data, send a test, launch now or at a time, pause and resume; while sending a
live progress bar (sent of total, rate, estimated finish); afterwards delivered, bounced,
complained, opened, clicked and unsubscribed, a chart over time and the most clicked links."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html import escape

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.dashboard.pages import (
    caller_of,
    deps_of,
    form_value,
    missing,
    or_none,
    page,
    render,
    sandboxed,
    test_send,
)
from autorelay_core.domain.campaigns import Campaign, CampaignStatus
from autorelay_core.domain.contacts import ContactStatus
from autorelay_core.domain.templates import MAX_TEMPLATE_CHARS
from autorelay_core.errors import AutoRelayError, Conflict, Invalid
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.ports import ContactQuery
from autorelay_core.usecases import manage_campaigns as uc
from autorelay_core.usecases import manage_contacts, manage_segments, manage_templates, manage_topics, queries
from autorelay_core.usecases.ab_winner import results
from autorelay_core.usecases.access import admit
from autorelay_core.usecases.manage_users import Visit
from autorelay_core.usecases.send_email import SendCommand

BLANK = (
    '<table role="presentation" style="width:100%;max-width:600px;margin:0 auto;font-family:Arial,sans-serif">'
    '<tr><td style="padding:24px"><h1 style="font-size:22px">Hello {{ name }}</h1>'
    '<p style="font-size:16px;line-height:1.5">Your news here.</p></td></tr></table>'
)
SERIES = ("sent", "opened", "clicked", "bounced", "complained")


async def _listing(request: Request, visit: Visit, status: int = 200, **extra) -> Response:
    deps = deps_of(request)
    found = await uc.list_campaigns(deps, caller_of(visit), None, OffsetRequest(1, 100))
    lists = await manage_contacts.all_lists(deps, caller_of(visit))
    templates = await manage_templates.list_templates(deps, caller_of(visit))
    segments = await manage_segments.list_segments(deps, caller_of(visit))
    topics = await manage_topics.list_topics(deps, caller_of(visit))
    return render(
        request,
        "campaigns.html",
        status,
        topics=topics,
        campaigns=found.items,
        lists=lists,
        list_names={item.id: item.name for item in lists},
        templates=templates,
        segments=segments,
        sender=deps.config.sandbox_sender,
        now=deps.clock.now(),
        **extra,
    )


@page()
async def listing(request: Request, visit: Visit) -> Response:
    return await _listing(request, visit)


@page()
async def create(request: Request, visit: Visit) -> Response:
    deps = deps_of(request)
    subject, content = form_value(request, "subject"), BLANK
    template_id = form_value(request, "template")
    if template_id:
        template = await or_none(manage_templates.get_template(deps, caller_of(visit), template_id))
        if template is None:
            return await _listing(request, visit, 400, error="That template is gone.")
        content, subject = template.html, subject or template.subject
    fields = uc.CampaignInput(
        name=form_value(request, "name"),
        subject=subject,
        from_email=form_value(request, "from_email").strip(),
        content=content,
        topic_id=form_value(request, "topic_id") or None,
        **_audience(form_value(request, "list_id")),
    )
    try:
        made = await uc.create_campaign(deps, caller_of(visit), fields)
    except AutoRelayError as error:
        # The form comes back as it was sent, so one wrong field costs one correction.
        kept = {
            name: form_value(request, name)
            for name in ("name", "list_id", "template", "subject", "from_email", "topic_id")
        }
        return await _listing(request, visit, 400, error=f"Not created: {error.message}", kept=kept)
    return RedirectResponse(f"/app/campaigns/{made.id}", status_code=303)


async def campaign_of(request: Request, visit: Visit) -> Campaign | None:
    return await or_none(uc.get_campaign(deps_of(request), caller_of(visit), request.path_params["campaign_id"]))


async def _live(request: Request, campaign: Campaign) -> dict:
    """Progress with the rate so far and an estimated finish."""
    deps = deps_of(request)
    live = await uc.progress(deps, campaign)
    campaign = live.campaign
    n = uc.numbers(campaign, live.statuses)
    now = deps.clock.now()
    started = max(filter(None, (campaign.launched_at, campaign.starts_at)), default=None)
    done = n.sent + n.failed + n.uncertain
    rate = eta = None
    if started is not None and now > started and done:
        rate = done / max((now - started).total_seconds(), 1.0)
        if campaign.status is CampaignStatus.SENDING and done < n.total:
            eta = now + timedelta(seconds=(n.total - done) / rate)
    waiting = campaign.starts_at is not None and campaign.starts_at > now
    ab = await results(deps, campaign)  # each variant's numbers, live like the rest
    return {"campaign": campaign, "n": n, "done": done, "rate": rate, "eta": eta, "waiting": waiting, "ab": ab}


def _buckets(timeline: list[tuple[str, str, int]]) -> tuple[list[int], dict[str, list[int]]]:
    """Per minute from a minute before the first event to a minute after the last (per hour when
    that is more than a day), zeros included, so the chart's time axis reads naturally."""
    counts: dict[tuple[int, str], int] = {}
    for minute, kind, count in timeline:
        at = int(datetime.fromisoformat(minute).replace(tzinfo=UTC).timestamp())
        counts[(at, kind)] = counts.get((at, kind), 0) + count
    if not counts:
        return [], {kind: [] for kind in SERIES}
    first, last = min(at for at, _ in counts), max(at for at, _ in counts)
    step = 60 if last - first <= 86_400 else 3600
    start, end = first - first % step - step, last - last % step + step
    times = list(range(start, end + 1, step))
    series = {kind: [0] * len(times) for kind in SERIES}
    for (at, kind), count in counts.items():
        if kind in series:
            series[kind][(at - start) // step] += count
    return times, series


async def _chart(request: Request, campaign: Campaign) -> tuple[str, list[tuple[str, int]]]:
    deps = deps_of(request)
    times, series = _buckets(await queries.campaign_timeline(deps, campaign))
    links = await queries.campaign_links(deps, campaign, 10)
    return json.dumps({"times": times, "series": series}), links


async def detail_page(request: Request, visit: Visit, campaign: Campaign, status: int = 200, **extra) -> Response:
    deps = deps_of(request)
    context = await _live(request, campaign)
    campaign = context["campaign"]
    extra.setdefault("notice", _NOTICES.get(request.query_params.get("done", "")))
    if campaign.status is CampaignStatus.DRAFT:
        contact = await _contact_for_preview(request, visit, campaign)
        extra["preview_contact"] = contact.id if contact else None
        lists = await manage_contacts.all_lists(deps, caller_of(visit))
        if campaign.segment_id is not None:
            found = await or_none(manage_segments.segment_matches(deps, caller_of(visit), campaign.segment_id, 20))
            sample, recipients = (found.sample, found.count) if found else ([], 0)
        else:
            contacts = await manage_contacts.contacts_page(
                deps,
                caller_of(visit),
                ContactQuery(campaign.list_id, status=ContactStatus.SUBSCRIBED),
                OffsetRequest(1, 20),
            )
            sample, recipients = contacts.items, contacts.total
        templates = await manage_templates.list_templates(deps, caller_of(visit))
        segments = await manage_segments.list_segments(deps, caller_of(visit))
        extra |= {"lists": lists, "contacts": sample, "recipients": recipients, "templates": templates}
        extra["segments"] = segments
        extra["topics"] = await manage_topics.list_topics(deps, caller_of(visit))
    else:
        extra["chart"], extra["links"] = await _chart(request, campaign)
    target = None
    if campaign.segment_id is not None:
        extra["segment"] = await or_none(manage_segments.get_segment(deps, caller_of(visit), campaign.segment_id))
    else:
        target = await or_none(manage_contacts.find_list(deps, caller_of(visit), campaign.list_id))
    return render(
        request,
        "campaign.html",
        status,
        nav="campaigns",
        target=target,
        campaign_variables=await uc.campaign_variables(deps, caller_of(visit)),
        **context,
        **extra,
    )


_NOTICES = {
    "saved": "Saved.",
    "launched": "Launched: the emails are on their way.",
    "scheduled": "Scheduled.",
    "paused": "Paused: nothing more is sent until you resume.",
    "resumed": "Resumed.",
    "picked": "Winner picked: the rest of the recipients get it now.",
}


@page()
async def detail(request: Request, visit: Visit) -> Response:
    campaign = await campaign_of(request, visit)
    if campaign is None:
        return missing(request, "campaign")
    return await detail_page(request, visit, campaign)


@page()
async def progress(request: Request, visit: Visit) -> Response:
    """The progress card again (htmx polls it while the campaign sends)."""
    campaign = await campaign_of(request, visit)
    if campaign is None:
        return Response(status_code=404)
    return render(request, "campaign_progress.html", **await _live(request, campaign))


@page(field_bytes=4 * MAX_TEMPLATE_CHARS)
async def edit(request: Request, visit: Visit) -> Response:
    campaign = await campaign_of(request, visit)
    if campaign is None:
        return missing(request, "campaign")
    deps = deps_of(request)
    content = form_value(request, "content")
    template_id = form_value(request, "template")
    if template_id:
        template = await or_none(manage_templates.get_template(deps, caller_of(visit), template_id))
        content = template.html if template else content
    fields = uc.CampaignInput(
        name=form_value(request, "name"),
        subject=form_value(request, "subject"),
        from_email=form_value(request, "from_email").strip(),
        content=content,
        topic_id=form_value(request, "topic_id"),  # "" leaves the topic
        **_audience(form_value(request, "list_id")),
    )
    try:
        await uc.update_campaign(deps, caller_of(visit), campaign.id, fields)
    except AutoRelayError as error:
        return await detail_page(request, visit, campaign, 400, error=error.message)
    return RedirectResponse(f"/app/campaigns/{campaign.id}?done=saved", status_code=303)


async def _contact_for_preview(request: Request, visit: Visit, campaign: Campaign):
    contact_id = request.query_params.get("contact") or form_value_or_none(request, "contact")
    if not contact_id:
        return None
    contact = await or_none(manage_contacts.get_contact(deps_of(request), caller_of(visit), contact_id))
    if contact is None or (campaign.segment_id is None and contact.list_id != campaign.list_id):
        return None
    return contact


def _audience(chosen: str) -> dict[str, str | None]:
    """The "List or segment" choice: a list's id, or "segment:" and a segment's id."""
    if chosen.startswith("segment:"):
        return {"segment_id": chosen.removeprefix("segment:")}
    return {"list_id": chosen}


def form_value_or_none(request: Request, name: str) -> str | None:
    form = getattr(request.state, "form", None)
    value = form.get(name) if form is not None else None
    return value if isinstance(value, str) and value else None


@page()
async def preview(request: Request, visit: Visit) -> Response:
    campaign = await campaign_of(request, visit)
    if campaign is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    contact = await _contact_for_preview(request, visit, campaign)
    deps = deps_of(request)
    try:
        _, html = await deps.offload.run(uc.render_for, deps, campaign, contact)
    except Invalid as error:
        html = f"<p>This content does not render: {escape(error.message)}</p>"
    return sandboxed(html)


@page()
async def send_test(request: Request, visit: Visit) -> Response:
    campaign = await campaign_of(request, visit)
    if campaign is None:
        return missing(request, "campaign")
    deps = deps_of(request)
    contact = await _contact_for_preview(request, visit, campaign)
    try:
        subject, html = await deps.offload.run(uc.render_for, deps, campaign, contact)
        command = SendCommand(
            to=form_value(request, "to").strip(), from_=campaign.from_email, subject=subject, html=html
        )
        email = await test_send(request, visit, command)
    except AutoRelayError as error:
        return await detail_page(request, visit, campaign, 400, error=f"Test not sent: {error.message}")
    return await detail_page(request, visit, campaign, tested=email)


@page()
async def launch(request: Request, visit: Visit) -> Response:
    campaign = await campaign_of(request, visit)
    if campaign is None:
        return missing(request, "campaign")
    deps = deps_of(request)
    starts_at = None
    when = form_value(request, "starts_at")
    if form_value(request, "when") == "later":
        try:
            starts_at = datetime.fromisoformat(when).replace(tzinfo=UTC)
        except ValueError:
            return await detail_page(request, visit, campaign, 400, error="Choose the date and time to start (UTC).")
    caller = caller_of(visit)
    try:
        await admit(deps, caller, scope="campaigns.write", limited_as="campaigns.launch")
        await uc.launch_campaign(deps, caller, campaign.id, starts_at=starts_at)
    except AutoRelayError as error:
        return await detail_page(request, visit, campaign, 400, error=f"Not launched: {error.message}")
    done = "scheduled" if starts_at and starts_at > deps.clock.now() else "launched"
    return RedirectResponse(f"/app/campaigns/{campaign.id}?done={done}", status_code=303)


async def _pause_or_resume(request: Request, visit: Visit, pause: bool) -> Response:
    campaign = await campaign_of(request, visit)
    if campaign is None:
        return missing(request, "campaign")
    action = uc.pause_campaign if pause else uc.resume_campaign
    try:
        await action(deps_of(request), caller_of(visit), campaign.id)
    except Conflict as error:
        return await detail_page(request, visit, campaign, 409, error=error.message)
    return RedirectResponse(f"/app/campaigns/{campaign.id}?done={'paused' if pause else 'resumed'}", status_code=303)


@page()
async def pause(request: Request, visit: Visit) -> Response:
    return await _pause_or_resume(request, visit, True)


@page()
async def resume(request: Request, visit: Visit) -> Response:
    return await _pause_or_resume(request, visit, False)


@page()
async def delete(request: Request, visit: Visit) -> Response:
    campaign = await campaign_of(request, visit)
    if campaign is None:
        return missing(request, "campaign")
    try:
        await uc.delete_campaign(deps_of(request), caller_of(visit), campaign.id)
    except Conflict as error:
        return await detail_page(request, visit, campaign, 409, error=error.message)
    return RedirectResponse("/app/campaigns", status_code=303)


routes = [
    Route("/campaigns", listing, methods=["GET"]),
    Route("/campaigns", create, methods=["POST"]),
    Route("/campaigns/{campaign_id}", detail, methods=["GET"]),
    Route("/campaigns/{campaign_id}", edit, methods=["POST"]),
    Route("/campaigns/{campaign_id}/progress", progress, methods=["GET"]),
    Route("/campaigns/{campaign_id}/preview", preview, methods=["GET"]),
    Route("/campaigns/{campaign_id}/test", send_test, methods=["POST"]),
    Route("/campaigns/{campaign_id}/launch", launch, methods=["POST"]),
    Route("/campaigns/{campaign_id}/pause", pause, methods=["POST"]),
    Route("/campaigns/{campaign_id}/resume", resume, methods=["POST"]),
    Route("/campaigns/{campaign_id}/delete", delete, methods=["POST"]),
]

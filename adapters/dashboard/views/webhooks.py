"""Webhooks at /app/webhooks: endpoints (create with the secret shown once, edit events, pause,
resume, delete; owners only, as a webhook sends the project's events to a URL), and per endpoint
the deliveries log (each attempt's outcome and error, refreshing itself), replay, and a signed test
event posted like any delivery."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.dashboard.pages import caller_of, deps_of, form_value, missing, or_none, page, render
from autorelay_core.domain.webhooks import EVENT_TYPES, Webhook
from autorelay_core.errors import Conflict, Invalid, NotFound
from autorelay_core.policies.ssrf import LOCAL_ONLY
from autorelay_core.usecases import manage_webhooks, queries
from autorelay_core.usecases.manage_users import Visit
from autorelay_core.usecases.manage_webhooks import WebhookInput

LOG_SIZE = 25


async def _list_page(request: Request, visit: Visit, status: int = 200, **extra) -> Response:
    hooks = await manage_webhooks.list_webhooks(deps_of(request), caller_of(visit))
    return render(request, "webhooks.html", status, webhooks=hooks, event_types=EVENT_TYPES, **extra)


@page()
async def listing(request: Request, visit: Visit) -> Response:
    return await _list_page(request, visit)


def _chosen_events(request: Request) -> list[str]:
    return [str(e) for e in request.state.form.getlist("events")]


@page(owner=True)
async def create(request: Request, visit: Visit) -> Response:
    url = form_value(request, "url").strip()
    shape = form_value(request, "format") or "autorelay"
    fields = WebhookInput(url=url, events=_chosen_events(request), format=shape)
    try:
        webhook, secret = await manage_webhooks.create_webhook(deps_of(request), caller_of(visit), fields)
    except (Invalid, Conflict) as error:
        # The page says how local development is allowed in a paragraph of its own.
        message, local = error.message.removesuffix(LOCAL_ONLY), error.message.endswith(LOCAL_ONLY)
        page = await _list_page(
            request, visit, 400, error=message, local=local, url=url, chosen=fields.events, format=shape
        )
        return page
    return await _list_page(request, visit, 201, created=webhook, secret=secret)


async def _webhook(request: Request, visit: Visit) -> Webhook | None:
    return await or_none(
        manage_webhooks.get_webhook(deps_of(request), caller_of(visit), request.path_params["webhook_id"])
    )


async def _log(request: Request, visit: Visit, webhook: Webhook) -> dict:
    deps = deps_of(request)
    before = request.query_params.get("before") or None
    found, more = await manage_webhooks.recent_deliveries(deps, caller_of(visit), webhook.id, LOG_SIZE, before)
    attempts = {d.id: await queries.delivery_attempts(deps, caller_of(visit), d.id) for d in found}
    return {
        "webhook": webhook,
        "deliveries": found,
        "attempts": attempts,
        "older": found[-1].id if more and found else None,
        "live": before is None,
    }


async def _detail_page(request: Request, visit: Visit, webhook: Webhook, status: int = 200, **extra) -> Response:
    context = await _log(request, visit, webhook)
    return render(request, "webhook.html", status, event_types=EVENT_TYPES, nav="webhooks", **context, **extra)


@page()
async def detail(request: Request, visit: Visit) -> Response:
    webhook = await _webhook(request, visit)
    if webhook is None:
        return missing(request, "webhook")
    # The notice is named, not carried, in the URL: a crafted link cannot put words on the page.
    return await _detail_page(request, visit, webhook, notice=_NOTICES.get(request.query_params.get("done", "")))


@page()
async def log_rows(request: Request, visit: Visit) -> Response:
    """The log's rows again (htmx polls them, so attempts and replays show up by themselves)."""
    webhook = await _webhook(request, visit)
    if webhook is None:
        return Response(status_code=404)
    return render(request, "webhook_rows.html", **await _log(request, visit, webhook))


_NOTICES = {
    "saved": "Saved.",
    "paused": "Paused: nothing is queued for it until it is resumed.",
    "resumed": "Resumed.",
    "test": "A test event is on its way; it shows in the log below.",
    "replayed": "Replayed: the delivery is posted again now.",
}


def _back(webhook_id: str, notice: str) -> Response:
    return RedirectResponse(f"/app/webhooks/{webhook_id}?done={notice}", status_code=303)


@page(owner=True)
async def edit(request: Request, visit: Visit) -> Response:
    webhook = await _webhook(request, visit)
    if webhook is None:
        return missing(request, "webhook")
    fields = WebhookInput(url=form_value(request, "url").strip(), events=_chosen_events(request))
    try:
        await manage_webhooks.update_webhook(deps_of(request), caller_of(visit), webhook.id, fields)
    except Invalid as error:
        return await _detail_page(request, visit, webhook, 400, error=error.message)
    return _back(webhook.id, "saved")


async def _set_active(request: Request, visit: Visit, active: bool) -> Response:
    webhook = await _webhook(request, visit)
    if webhook is None:
        return missing(request, "webhook")
    await manage_webhooks.update_webhook(deps_of(request), caller_of(visit), webhook.id, WebhookInput(active=active))
    return _back(webhook.id, "resumed" if active else "paused")


@page(owner=True)
async def pause(request: Request, visit: Visit) -> Response:
    return await _set_active(request, visit, False)


@page(owner=True)
async def resume(request: Request, visit: Visit) -> Response:
    return await _set_active(request, visit, True)


@page(owner=True)
async def delete(request: Request, visit: Visit) -> Response:
    try:
        await manage_webhooks.delete_webhook(deps_of(request), caller_of(visit), request.path_params["webhook_id"])
    except NotFound:
        return missing(request, "webhook")
    return RedirectResponse("/app/webhooks", status_code=303)


@page(owner=True)
async def send_test(request: Request, visit: Visit) -> Response:
    webhook = await _webhook(request, visit)
    if webhook is None:
        return missing(request, "webhook")
    try:
        await manage_webhooks.send_test_event(deps_of(request), caller_of(visit), webhook.id)
    except Conflict as error:
        return await _detail_page(request, visit, webhook, 409, error=error.message)
    return _back(webhook.id, "test")


@page(owner=True)
async def replay(request: Request, visit: Visit) -> Response:
    webhook = await _webhook(request, visit)
    if webhook is None:
        return missing(request, "webhook")
    try:
        await manage_webhooks.replay_delivery(
            deps_of(request), caller_of(visit), webhook.id, request.path_params["delivery_id"]
        )
    except (NotFound, Conflict) as error:
        return await _detail_page(request, visit, webhook, 409, error=error.message)
    return _back(webhook.id, "replayed")


routes = [
    Route("/webhooks", listing, methods=["GET"]),
    Route("/webhooks", create, methods=["POST"]),
    Route("/webhooks/{webhook_id}", detail, methods=["GET"]),
    Route("/webhooks/{webhook_id}", edit, methods=["POST"]),
    Route("/webhooks/{webhook_id}/rows", log_rows, methods=["GET"]),
    Route("/webhooks/{webhook_id}/pause", pause, methods=["POST"]),
    Route("/webhooks/{webhook_id}/resume", resume, methods=["POST"]),
    Route("/webhooks/{webhook_id}/delete", delete, methods=["POST"]),
    Route("/webhooks/{webhook_id}/test", send_test, methods=["POST"]),
    Route("/webhooks/{webhook_id}/deliveries/{delivery_id}/replay", replay, methods=["POST"]),
]

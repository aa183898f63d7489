"""/webhooks: endpoints (the secret is shown once, at creation), their failed deliveries, replays."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json, structure
from adapters.http.responses import JSON, iso
from adapters.http.routing import resource
from autorelay_core.domain.webhooks import DeliveryState, Webhook, WebhookDelivery
from autorelay_core.errors import Invalid
from autorelay_core.usecases import manage_webhooks as uc


def webhook_view(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "object": "webhook",
        "url": webhook.url,
        "events": list(webhook.events),
        "active": webhook.active,
        "test": webhook.test,
        "format": webhook.format,
        "created_at": iso(webhook.created_at),
    }


def delivery_view(delivery: WebhookDelivery) -> dict[str, Any]:
    d = delivery
    if d.state is DeliveryState.SUCCEEDED:
        status = "succeeded"
    elif d.state is DeliveryState.FAILED or d.failures:
        status = "failed"
    else:
        status = "pending"  # replayed, not yet attempted again
    retrying = d.state in (DeliveryState.PENDING, DeliveryState.LEASED)
    return {
        "id": d.id,
        "object": "webhook_delivery",
        "event_id": d.event_id,
        "event_type": d.event_type,
        "status": status,
        "error": d.error,
        "attempts": d.attempts,
        "replay_count": d.replay_count,
        "last_attempt_at": iso(d.last_attempt_at),
        "next_attempt_at": iso(d.due_at) if retrying else None,
        "created_at": iso(d.created_at),
        "resolved_at": iso(d.resolved_at),
    }


def _fields(request_body: bytes) -> uc.WebhookInput:
    return structure(parse_json(request_body), uc.WebhookInput)


@requires("webhooks.write")
async def create_webhook(request: Request) -> Response:
    key = caller_of(request)
    webhook, secret = await uc.create_webhook(deps_of(request), key, _fields(await request.body()), key.is_test)
    view: dict[str, object] = {"id": webhook.id, "url": webhook.url, "secret": secret, "events": list(webhook.events)}
    view |= {"isActive": webhook.active, "object": "webhook", "active": webhook.active, "test": webhook.test}
    view["format"] = webhook.format
    return JSON(view | {"created_at": iso(webhook.created_at)}, status_code=201)


@requires("webhooks.write")
async def list_webhooks(request: Request) -> Response:
    key = caller_of(request)
    found = await uc.list_webhooks(deps_of(request), key, key.is_test)
    return JSON({"object": "list", "data": [webhook_view(w) for w in found]})


@requires("webhooks.write")
async def read_webhook(request: Request) -> Response:
    key = caller_of(request)
    webhook = await uc.get_webhook(deps_of(request), key, request.path_params["webhook_id"], key.is_test)
    return JSON(webhook_view(webhook))


@requires("webhooks.write")
async def update_webhook(request: Request) -> Response:
    key, fields = caller_of(request), _fields(await request.body())
    webhook = await uc.update_webhook(deps_of(request), key, request.path_params["webhook_id"], fields, key.is_test)
    return JSON(webhook_view(webhook))


@requires("webhooks.write")
async def delete_webhook(request: Request) -> Response:
    webhook_id = request.path_params["webhook_id"]
    key = caller_of(request)
    await uc.delete_webhook(deps_of(request), key, webhook_id, key.is_test)
    return JSON({"id": webhook_id, "deleted": True})


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise Invalid("limit must be a whole number from 1 to 100", field="limit")
    return int(raw)


@requires("webhooks.write")
async def list_deliveries(request: Request) -> Response:
    webhook_id = request.path_params["webhook_id"]
    key = caller_of(request)
    found, more = await uc.failed_deliveries(deps_of(request), key, webhook_id, _limit(request), key.is_test)
    return JSON(
        {"object": "list", "webhook_id": webhook_id, "has_more": more, "data": [delivery_view(d) for d in found]}
    )


@requires("webhooks.write")
async def replay_delivery(request: Request) -> Response:
    key, params = caller_of(request), request.path_params
    delivery = await uc.replay_delivery(deps_of(request), key, params["webhook_id"], params["delivery_id"], key.is_test)
    return JSON(delivery_view(delivery), status_code=202)


routes = [
    resource("/api/v1/webhooks", GET=list_webhooks, POST=create_webhook),
    resource("/api/v1/webhooks/{webhook_id}", GET=read_webhook, PATCH=update_webhook, DELETE=delete_webhook),
    resource("/api/v1/webhooks/{webhook_id}/deliveries", GET=list_deliveries),
    resource("/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay", POST=replay_delivery),
]

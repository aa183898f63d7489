"""Webhook endpoints: register (the secret is shown once), read, change, pause, delete; the failed
deliveries of one, and replaying a delivery."""

from __future__ import annotations

import base64
import secrets

from attrs import frozen

from autorelay_core.domain.callers import Caller, Via
from autorelay_core.domain.webhooks import EVENT_TYPES, FORMATS, DeliveryState, Webhook, WebhookDelivery
from autorelay_core.errors import Conflict, Forbidden, Invalid, NotFound
from autorelay_core.policies.ssrf import LOCAL_ONLY, check_addresses, parse_target
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found
from autorelay_core.usecases.notify import allows_local, target_addresses

MAX_PER_PROJECT = 50


@frozen
class WebhookInput:
    """A create (url and events required) or an update (any subset; null keeps a field)."""

    url: str | None = None
    events: list[str] | None = None
    active: bool | None = None
    format: str | None = None  # FORMATS; "autorelay" when a create leaves it out


def _format(value: str | None) -> str:
    if value not in FORMATS:
        raise Invalid(f"format must be one of {', '.join(FORMATS)}", field="format")
    return value


def _events(events: list[str] | None) -> tuple[str, ...]:
    if not events:
        raise Invalid("events must list at least one event", field="events")
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise Invalid(f"events: unknown event {unknown[0]!r}; supported: {', '.join(EVENT_TYPES)}", field="events")
    return tuple(dict.fromkeys(events))  # order kept, repeats dropped


async def _checked_url(deps: Deps, project_id: str, url: str | None) -> str:
    if url is None:
        raise Invalid("url is required", field="url")
    allow = await allows_local(deps, project_id)
    target = parse_target(url, allow_private=allow)
    addresses = await target_addresses(deps, target)
    # A host that does not resolve yet is accepted: its deliveries fail until it does.
    if addresses:
        try:
            check_addresses(target.host, addresses, allow_private=allow)
        except Invalid as refused:  # when it is set up, say what local development may do
            raise Invalid(refused.message + LOCAL_ONLY, field="url") from None
    return target.url


async def set_local_webhooks(deps: Deps, caller: Caller, allowed: bool) -> None:
    """The operator lets the project's webhooks reach plain http:// and local addresses, or stops
    them (Project.webhooks_local). Running servers see it within their cache's few seconds."""
    if caller.via not in (Via.CLI, Via.EMBEDDED):
        raise Forbidden("only the server's operator may let webhooks reach local addresses")
    await deps.storage.projects.set_webhooks_local(caller.project_id, allowed)


async def create_webhook(deps: Deps, caller: Caller, fields: WebhookInput, test: bool = False) -> tuple[Webhook, str]:
    """The new endpoint and its signing secret (`whsec_` + base64 of 32 random bytes, the Standard
    Webhooks form), which is stored sealed and never shown again. A test key (`test`) makes a
    test-mode endpoint: it hears only of test-mode mail."""
    project_id = caller.project_id
    url = await _checked_url(deps, project_id, fields.url)
    events = _events(fields.events)
    if len(await deps.storage.webhooks.list(project_id)) >= MAX_PER_PROJECT:
        raise Conflict(f"a project may have at most {MAX_PER_PROJECT} webhooks")
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    webhook = Webhook(
        id=deps.ids.new("whk"),
        project_id=project_id,
        url=url,
        events=events,
        secret=deps.sealer.seal(secret),
        created_at=deps.clock.now(),
        active=True if fields.active is None else fields.active,
        test=test,
        format=_format(fields.format or "autorelay"),
    )
    await deps.storage.webhooks.add(webhook)
    return webhook, secret


async def get_webhook(deps: Deps, caller: Caller, webhook_id: str, test: bool = False) -> Webhook:
    """The endpoint; a test key (`test`) finds only test-mode endpoints (others are not found)."""
    project_id = caller.project_id
    webhook = await deps.storage.webhooks.get(project_id, webhook_id)
    return found(webhook if webhook is None or webhook.test or not test else None, f"webhook {webhook_id}")


async def list_webhooks(deps: Deps, caller: Caller, test: bool = False) -> list[Webhook]:
    project_id = caller.project_id
    return [w for w in await deps.storage.webhooks.list(project_id) if w.test or not test]


async def update_webhook(
    deps: Deps, caller: Caller, webhook_id: str, fields: WebhookInput, test: bool = False
) -> Webhook:
    webhook = await get_webhook(deps, caller, webhook_id, test)
    if fields.url is not None:
        webhook.url = await _checked_url(deps, webhook.project_id, fields.url)
    if fields.events is not None:
        webhook.events = _events(fields.events)
    if fields.active is not None:
        webhook.active = fields.active
    if fields.format is not None:
        webhook.format = _format(fields.format)
    await deps.storage.webhooks.update(webhook)
    return webhook


async def delete_webhook(deps: Deps, caller: Caller, webhook_id: str, test: bool = False) -> None:
    project_id = caller.project_id
    await get_webhook(deps, caller, webhook_id, test)
    if not await deps.storage.webhooks.delete(project_id, webhook_id):
        raise NotFound(f"webhook {webhook_id} not found")


async def failed_deliveries(
    deps: Deps, caller: Caller, webhook_id: str, limit: int, test: bool = False
) -> tuple[list[WebhookDelivery], bool]:
    project_id = caller.project_id
    await get_webhook(deps, caller, webhook_id, test)
    return await deps.storage.webhooks.failures(project_id, webhook_id, limit)


async def replay_delivery(
    deps: Deps, caller: Caller, webhook_id: str, delivery_id: str, test: bool = False
) -> WebhookDelivery:
    project_id = caller.project_id
    webhook = await get_webhook(deps, caller, webhook_id, test)
    if not webhook.active:
        raise Conflict(f"webhook {webhook_id} is paused: set active to true before replaying")
    delivery = found(
        await deps.storage.webhooks.replay(project_id, webhook_id, delivery_id, deps.clock.now()),
        f"delivery {delivery_id}",
    )
    if delivery.state is DeliveryState.LEASED:
        raise Conflict(f"delivery {delivery_id} is being posted; replay it once it has finished")
    deps.queue.wake()
    return delivery


async def send_test_event(deps: Deps, caller: Caller, webhook_id: str) -> WebhookDelivery:
    """Queue a signed sample of the first event the endpoint subscribes to, posted like any other
    delivery (same signature, retries, log). Its data says `"test": true` so receivers can tell."""
    project_id = caller.project_id
    webhook = await get_webhook(deps, caller, webhook_id)
    if not webhook.active:
        raise Conflict(f"webhook {webhook_id} is paused: resume it before sending a test event")
    now = deps.clock.now()
    event_id, kind = deps.ids.new("evt"), webhook.events[0]
    delivery = WebhookDelivery(
        id=deps.ids.new("whd"),
        webhook_id=webhook.id,
        project_id=project_id,
        event_id=event_id,
        event_type=kind,
        body=deps.notice_format.test_body(event_id, kind, now),
        created_at=now,
    )
    await deps.storage.webhooks.add_delivery(delivery)
    deps.queue.wake()
    return delivery


async def recent_deliveries(
    deps: Deps, caller: Caller, webhook_id: str, limit: int, before: str | None = None
) -> tuple[list[WebhookDelivery], bool]:
    project_id = caller.project_id
    await get_webhook(deps, caller, webhook_id)
    return await deps.storage.webhooks.recent(project_id, webhook_id, limit, before)

"""Tell webhook endpoints what happened to an email: the payload of each event, and the delivery
passes that post them (with retries, the SSRF guard at every attempt, and 410 disabling)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from functools import partial

from attrs import evolve

from autorelay_core.domain.emails import Email, Event
from autorelay_core.domain.webhooks import DeliveryState, Notice, PostOutcome, event_type, next_attempt
from autorelay_core.errors import Invalid, WebhookError
from autorelay_core.policies.ssrf import Address, Target, check_addresses, literal_address, parse_target
from autorelay_core.ports import DeliveryClaim
from autorelay_core.usecases.context import Deps

log = logging.getLogger("autorelay.webhooks")


def notices_for(deps: Deps, email: Email, events: list[Event]) -> tuple[Notice, ...]:
    """The webhook payloads for these events of `email` (test-mode mail included: a test key is for
    trying the whole pipeline, webhooks too)."""
    notices = []
    for event in events:
        name = event_type(event.type)
        if name is None:
            continue
        event_id = deps.ids.new("evt")
        render = partial(deps.notice_format.body, event_id, name, email, event)
        notices.append(Notice(event_id, name, render, event.created_at, live=not email.test))
    return tuple(notices)


async def target_addresses(deps: Deps, target: Target) -> list[Address]:
    """Every address the host stands for: itself when it is a literal, else what DNS answers."""
    literal = literal_address(target.host)
    if literal is not None:
        return [literal]
    return [ipaddress.ip_address(a) for a in await deps.dns.addresses(target.host)]


async def allows_local(deps: Deps, project_id: str) -> bool:
    """Whether the project's webhooks may reach plain http:// and local addresses: the operator
    allowed it for every project (a setting) or for this one (`autorelay webhooks local`, at once)."""
    if deps.config.webhooks_allow_private:
        return True
    project = await deps.storage.projects.get(project_id)
    return project is not None and project.webhooks_local


async def resolve_target(deps: Deps, target: Target, allow_private: bool) -> Address:
    """The address to connect to, checked; Invalid naming the host and the refused address."""
    addresses = await target_addresses(deps, target)
    return check_addresses(target.host, addresses, allow_private=allow_private)


async def deliver_webhooks_due(deps: Deps, batch: int = 32) -> int:
    """One pass over the webhook outbox: lease up to `batch` due deliveries and post them
    concurrently. Returns how many were leased."""
    now = deps.clock.now()
    claims = await deps.storage.webhooks.claim_due(now, now + deps.config.lease, batch)
    await asyncio.gather(*(_attempt(deps, claim) for claim in claims))
    return len(claims)


class BackgroundPosts:
    """Webhook posts running beside a process's delivery passes instead of inside them, so a slow
    endpoint (up to the 15 s timeout) never holds up email delivery. At most `limit` are in flight;
    each one that ends wakes a pass, which claims what the freed room allows."""

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self._running: set[asyncio.Task[None]] = set()

    async def start_due(self, deps: Deps, batch: int = 32) -> int:
        """Claim up to `batch` due deliveries (no more than the free room) and start posting them;
        returns how many were claimed, without waiting for them."""
        room = min(batch, self.limit - len(self._running))
        if room <= 0:
            return 0
        now = deps.clock.now()
        claims = await deps.storage.webhooks.claim_due(now, now + deps.config.lease, room)
        for claim in claims:
            task = asyncio.create_task(_attempt(deps, claim), name=f"webhook {claim.delivery.id}")
            self._running.add(task)
            task.add_done_callback(lambda done: self._finished(deps, done))
        return len(claims)

    def _finished(self, deps: Deps, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        deps.queue.wake()  # room for the next ones (wakes are coalesced by the queue)

    async def stop(self, grace: float) -> None:
        """Let posts in flight finish for up to `grace` seconds, then cancel the rest: their leases
        run out and they are posted again later (receivers deduplicate on the event id)."""
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=grace)
            for task in late:
                task.cancel()


async def _attempt(deps: Deps, claim: DeliveryClaim) -> None:
    delivery = evolve(claim.delivery)
    started = deps.clock.now()
    outcome: PostOutcome | None = None
    try:
        allow = await allows_local(deps, delivery.project_id)
        target = parse_target(claim.url, allow_private=allow)
        address = await resolve_target(deps, target, allow)
        secret = deps.sealer.open(claim.secret)
        outcome = await deps.webhook_poster.post(target, str(address), secret, delivery, started, claim.format)
        error = None if outcome.delivered else outcome.detail or "not delivered"
        delivery.answer = outcome.detail if outcome.delivered else None
    except Invalid as refused:
        error = f"refused: {refused.message}"
    except WebhookError as failed:
        error = failed.message
    except Exception as bug:  # an adapter bug must not leave the row leased forever
        log.exception("webhook poster raised for %s", delivery.id)
        error = f"unexpected error: {type(bug).__name__}"
    gone = outcome is not None and outcome.gone
    now = deps.clock.now()
    delivery.last_attempt_at = now
    if error is None:
        delivery.state, delivery.due_at = DeliveryState.SUCCEEDED, None
        if delivery.failures:
            delivery.resolved_at = now
        delivery.failures = 0
    else:
        delivery.error = error[:500]
        delivery.failures += 1
        due = None if gone else next_attempt(delivery.failures, now)
        delivery.state = DeliveryState.PENDING if due else DeliveryState.FAILED
        delivery.due_at = due
    if not await deps.storage.webhooks.settle(claim, delivery):
        return
    deps.metrics.webhook_attempt(ok=error is None)
    if gone:  # the receiver says the endpoint is gone for good (HTTP 410)
        webhook = await deps.storage.webhooks.get(delivery.project_id, delivery.webhook_id)
        if webhook is not None and webhook.active:
            webhook.active = False
            await deps.storage.webhooks.update(webhook)
            log.warning("webhook %s answered 410 Gone: disabled", webhook.id)
    elif delivery.due_at is not None:
        deps.queue.wake(delivery.due_at)


async def reconcile_webhooks(deps: Deps) -> bool:
    """Wake a pass when a delivery is overdue (its wake was lost with a killed process)."""
    due = await deps.storage.webhooks.next_due()
    if due is not None and due <= deps.clock.now() - deps.config.reconcile_grace:
        deps.queue.wake()
        return True
    return False

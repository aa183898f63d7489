"""Webhook endpoints and their delivery outbox in memory (for embedding and unit tests)."""

from __future__ import annotations

import builtins
import secrets
from datetime import datetime

from attrs import evolve

from autorelay_core.domain.webhooks import (
    PAUSED_ERROR,
    Attempt,
    DeliveryState,
    Notice,
    Webhook,
    WebhookDelivery,
    attempt_of,
)
from autorelay_core.ports import DeliveryClaim


class MemoryWebhooks:
    def __init__(self) -> None:
        self._hooks: dict[str, Webhook] = {}
        self._deliveries: dict[str, WebhookDelivery] = {}
        self._leases: dict[str, datetime] = {}
        self._attempts: dict[str, list[Attempt]] = {}

    def fan_out(self, project_id: str, notices: tuple[Notice, ...]) -> None:
        """One pending delivery per active endpoint subscribed to each notice's type."""
        for notice in notices:
            for hook in self._hooks.values():
                if hook.project_id == project_id and hook.hears(notice):
                    delivery_id = f"whd_{secrets.token_hex(12)}"
                    self._deliveries[delivery_id] = WebhookDelivery(
                        id=delivery_id,
                        webhook_id=hook.id,
                        project_id=project_id,
                        event_id=notice.event_id,
                        event_type=notice.type,
                        body=notice.body,
                        created_at=notice.created_at,
                        due_at=notice.created_at,
                    )

    async def add(self, webhook: Webhook) -> None:
        self._hooks[webhook.id] = evolve(webhook)

    async def get(self, project_id: str, webhook_id: str) -> Webhook | None:
        hook = self._hooks.get(webhook_id)
        return evolve(hook) if hook and hook.project_id == project_id else None

    async def list(self, project_id: str) -> list[Webhook]:
        return [evolve(h) for h in self._hooks.values() if h.project_id == project_id]

    async def update(self, webhook: Webhook) -> None:
        if webhook.id not in self._hooks:
            return
        self._hooks[webhook.id] = evolve(webhook)
        if not webhook.active:
            for delivery in self._deliveries.values():
                if delivery.webhook_id == webhook.id and delivery.state is DeliveryState.PENDING:
                    delivery.state, delivery.due_at, delivery.error = DeliveryState.FAILED, None, PAUSED_ERROR

    async def delete(self, project_id: str, webhook_id: str) -> bool:
        if await self.get(project_id, webhook_id) is None:
            return False
        del self._hooks[webhook_id]
        self._deliveries = {k: d for k, d in self._deliveries.items() if d.webhook_id != webhook_id}
        self._attempts = {k: a for k, a in self._attempts.items() if k in self._deliveries}
        return True

    async def backlog(self, now: datetime) -> int:
        return sum(
            1 for d in self._deliveries.values() if d.state is DeliveryState.PENDING and d.due_at and d.due_at <= now
        )

    async def add_delivery(self, delivery: WebhookDelivery) -> None:
        self._deliveries[delivery.id] = evolve(delivery, state=DeliveryState.PENDING, due_at=delivery.created_at)

    async def recent(
        self, project_id: str, webhook_id: str, limit: int, before: str | None = None
    ) -> tuple[builtins.list[WebhookDelivery], bool]:
        found = [
            d for d in reversed(self._deliveries.values()) if d.webhook_id == webhook_id and d.project_id == project_id
        ]
        ids = [d.id for d in found]
        if before in ids:
            found = found[ids.index(before) + 1 :]
        return [evolve(d) for d in found[:limit]], len(found) > limit

    async def attempts(self, project_id: str, delivery_id: str) -> builtins.list[Attempt]:
        delivery = self._deliveries.get(delivery_id)
        if delivery is None or delivery.project_id != project_id:
            return []
        return list(self._attempts.get(delivery_id, []))

    async def failures(
        self, project_id: str, webhook_id: str, limit: int
    ) -> tuple[builtins.list[WebhookDelivery], bool]:
        found = [
            evolve(d)
            for d in reversed(self._deliveries.values())
            if d.webhook_id == webhook_id and d.project_id == project_id and d.error is not None
        ]
        return found[:limit], len(found) > limit

    async def replay(self, project_id: str, webhook_id: str, delivery_id: str, now: datetime) -> WebhookDelivery | None:
        delivery = self._deliveries.get(delivery_id)
        if delivery is None or delivery.webhook_id != webhook_id or delivery.project_id != project_id:
            return None
        if delivery.state is not DeliveryState.LEASED:
            delivery.state, delivery.due_at, delivery.failures = DeliveryState.PENDING, now, 0
            delivery.replay_count += 1
        return evolve(delivery)

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> builtins.list[DeliveryClaim]:
        due = [
            d
            for d in self._deliveries.values()
            if (d.state is DeliveryState.PENDING and d.due_at is not None and d.due_at <= now)
            or (d.state is DeliveryState.LEASED and self._leases.get(d.id, now) <= now)
        ]
        due.sort(key=lambda d: d.due_at or now)
        claims = []
        for delivery in due[:limit]:
            hook = self._hooks[delivery.webhook_id]
            delivery.state = DeliveryState.LEASED
            delivery.attempts += 1
            self._leases[delivery.id] = lease_until
            claims.append(DeliveryClaim(evolve(delivery), hook.url, hook.secret, lease_until, hook.format))
        return claims

    async def settle(self, claim: DeliveryClaim, delivery: WebhookDelivery) -> bool:
        held = self._deliveries.get(delivery.id)
        # The attempt number is the lease token: every claim increments it.
        if held is None or held.state is not DeliveryState.LEASED or held.attempts != claim.delivery.attempts:
            return False
        self._deliveries[delivery.id] = evolve(delivery, attempts=held.attempts, replay_count=held.replay_count)
        self._leases.pop(delivery.id, None)
        self._attempts.setdefault(delivery.id, []).append(attempt_of(delivery, held.attempts))
        return True

    async def next_due(self) -> datetime | None:
        times = [d.due_at for d in self._deliveries.values() if d.state is DeliveryState.PENDING and d.due_at]
        times += [self._leases[d.id] for d in self._deliveries.values() if d.state is DeliveryState.LEASED]
        return min(times, default=None)

"""Inbound mail in memory: each method atomic on the one event loop."""

from __future__ import annotations

from adapters.storage.memory.webhooks import MemoryWebhooks
from adapters.storage.rows.inbound import clash, matches
from autorelay_core.domain.inbound import InboundMessage, ReceivingDomain
from autorelay_core.domain.webhooks import WebhookDelivery
from autorelay_core.ports.inbound import InboundFilter


class MemoryInbound:
    def __init__(self, webhooks: MemoryWebhooks) -> None:
        self._webhooks = webhooks
        self._domains: dict[str, ReceivingDomain] = {}
        self._messages: dict[str, InboundMessage] = {}  # in arrival order

    async def add_domain(self, domain: ReceivingDomain) -> None:
        if any(d.name == domain.name for d in self._domains.values()):
            raise clash(domain)
        self._domains[domain.id] = domain

    async def domains(self, project_id: str) -> list[ReceivingDomain]:
        return [d for d in self._domains.values() if d.project_id == project_id]

    async def domain_named(self, name: str) -> ReceivingDomain | None:
        return next((d for d in self._domains.values() if d.name == name), None)

    async def delete_domain(self, project_id: str, domain_id: str) -> bool:
        domain = self._domains.get(domain_id)
        if domain is None or domain.project_id != project_id:
            return False
        del self._domains[domain_id]
        return True

    async def add(self, message: InboundMessage, deliveries: tuple[WebhookDelivery, ...]) -> None:
        self._messages[message.id] = message
        for delivery in deliveries:
            await self._webhooks.add_delivery(delivery)  # no await that yields: still one step

    async def get(self, project_id: str, message_id: str) -> InboundMessage | None:
        message = self._messages.get(message_id)
        return message if message is not None and message.project_id == project_id else None

    async def page(
        self, project_id: str, limit: int, after: str | None, where: InboundFilter
    ) -> tuple[list[InboundMessage], bool]:
        found = [m for m in reversed(self._messages.values()) if m.project_id == project_id and matches(m, where)]
        if after is not None:
            ids = [m.id for m in found]
            found = found[ids.index(after) + 1 :] if after in ids else []
        return found[:limit], len(found) > limit

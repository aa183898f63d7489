"""Inbound mail in memory: each method atomic on the one event loop."""

from __future__ import annotations

from datetime import datetime

from adapters.storage.memory.webhooks import MemoryWebhooks
from adapters.storage.rows.inbound import clash, matches
from autorelay_core.domain.dmarc import DmarcReport
from autorelay_core.domain.inbound import InboundMessage, ReceivingDomain
from autorelay_core.domain.inbound_routes import InboundRoute
from autorelay_core.domain.webhooks import WebhookDelivery
from autorelay_core.ports.inbound import InboundFilter


class MemoryInbound:
    def __init__(self, webhooks: MemoryWebhooks) -> None:
        self._webhooks = webhooks
        self._domains: dict[str, ReceivingDomain] = {}
        self._messages: dict[str, InboundMessage] = {}  # in arrival order
        self._routes: dict[str, InboundRoute] = {}
        self._reports: dict[tuple[str, str, str], DmarcReport] = {}

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

    async def received_before(self, moment: datetime, limit: int) -> list[InboundMessage]:
        old = [m for m in self._messages.values() if m.received_at < moment]
        return sorted(old, key=lambda m: m.received_at)[:limit]

    async def delete(self, project_id: str, message_id: str) -> InboundMessage | None:
        message = await self.get(project_id, message_id)
        if message is not None:
            del self._messages[message_id]
        return message

    async def page(
        self, project_id: str, limit: int, after: str | None, where: InboundFilter
    ) -> tuple[list[InboundMessage], bool]:
        found = [m for m in reversed(self._messages.values()) if m.project_id == project_id and matches(m, where)]
        if after is not None:
            ids = [m.id for m in found]
            found = found[ids.index(after) + 1 :] if after in ids else []
        return found[:limit], len(found) > limit

    async def add_route(self, route: InboundRoute) -> None:
        self._routes[route.id] = route

    async def routes(self, project_id: str) -> list[InboundRoute]:
        mine = [r for r in self._routes.values() if r.project_id == project_id]
        return sorted(mine, key=lambda r: (r.created_at, r.id))

    async def delete_route(self, project_id: str, route_id: str) -> bool:
        route = self._routes.get(route_id)
        if route is None or route.project_id != project_id:
            return False
        del self._routes[route_id]
        return True

    async def add_report(self, report: DmarcReport) -> bool:
        key = (report.project_id, report.org_name, report.report_id)
        if key in self._reports:
            return False
        self._reports[key] = report
        return True

    async def reports(self, project_id: str, domain: str, since: datetime) -> list[DmarcReport]:
        found = [
            r for r in self._reports.values() if r.project_id == project_id and r.domain == domain and r.begins >= since
        ]
        return sorted(found, key=lambda r: (r.begins, r.id))

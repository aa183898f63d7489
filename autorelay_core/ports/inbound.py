"""Inbound mail (domain/inbound.py): receiving domains and the messages received."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from attrs import frozen

from autorelay_core.domain.dmarc import DmarcReport
from autorelay_core.domain.inbound import InboundMessage, ReceivingDomain
from autorelay_core.domain.inbound_routes import InboundRoute
from autorelay_core.domain.webhooks import WebhookDelivery


@frozen
class InboundFilter:
    """Which received messages a page holds: all of them, or those matching every field given."""

    sender: str = ""  # the From address or the envelope sender, case-insensitive, exact
    recipient: str = ""  # one of the envelope recipients, case-insensitive, exact
    subject: str = ""  # a part of the subject, case-insensitive


class InboundRepository(Protocol):
    async def add_domain(self, domain: ReceivingDomain) -> None:
        """Conflict when any project receives for the name already."""

    async def domains(self, project_id: str) -> list[ReceivingDomain]:
        """Oldest first."""

    async def domain_named(self, name: str) -> ReceivingDomain | None:
        """The receiving domain of that name, whichever project has it (the listener's question)."""

    async def delete_domain(self, project_id: str, domain_id: str) -> bool: ...

    async def add(self, message: InboundMessage, deliveries: tuple[WebhookDelivery, ...]) -> None:
        """Store the message and queue its webhook deliveries, in one write."""

    async def get(self, project_id: str, message_id: str) -> InboundMessage | None: ...

    async def received_before(self, moment: datetime, limit: int) -> list[InboundMessage]:
        """Up to `limit` messages of any project received before `moment`, oldest first."""

    async def delete(self, project_id: str, message_id: str) -> InboundMessage | None:
        """Remove the message; returns what it was (its blobs' keys), None when there was none."""

    async def page(
        self, project_id: str, limit: int, after: str | None, where: InboundFilter
    ) -> tuple[list[InboundMessage], bool]:
        """Newest first, after the message `after` when given; and whether there are more."""

    async def add_route(self, route: InboundRoute) -> None: ...

    async def routes(self, project_id: str) -> list[InboundRoute]:
        """Oldest first."""

    async def delete_route(self, project_id: str, route_id: str) -> bool: ...

    async def add_report(self, report: DmarcReport) -> bool:
        """False when the project has the reporter's report of that id already (sent twice)."""

    async def reports(self, project_id: str, domain: str, since: datetime) -> list[DmarcReport]:
        """The reports on the domain whose period begins at or after `since`, oldest first."""

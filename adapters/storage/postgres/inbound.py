"""Inbound mail on PostgreSQL: receiving domains, and each message stored with its webhook
deliveries in one transaction."""

from __future__ import annotations

from datetime import datetime

from psycopg import errors

from adapters.storage.postgres.database import Database
from adapters.storage.rows import inbound as rows
from adapters.storage.rows import inbound_extras as extras
from adapters.storage.rows import webhooks as hook_rows
from autorelay_core.domain.dmarc import DmarcReport
from autorelay_core.domain.inbound import InboundMessage, ReceivingDomain
from autorelay_core.domain.inbound_routes import InboundRoute
from autorelay_core.domain.webhooks import WebhookDelivery
from autorelay_core.ports.inbound import InboundFilter


class PostgresInbound:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_domain(self, domain: ReceivingDomain) -> None:
        d = domain
        try:
            await self.db.rowcount(
                f"INSERT INTO receiving_domains ({rows.DOMAIN_COLUMNS}) VALUES (%s, %s, %s, %s)",
                (d.id, d.project_id, d.name, d.created_at),
            )
        except errors.UniqueViolation as error:
            raise rows.clash(domain) from error

    async def domains(self, project_id: str) -> list[ReceivingDomain]:
        found = await self.db.fetchall(
            f"SELECT {rows.DOMAIN_COLUMNS} FROM receiving_domains WHERE project_id = %s ORDER BY created_at, id",
            (project_id,),
        )
        return [ReceivingDomain(*r) for r in found]

    async def domain_named(self, name: str) -> ReceivingDomain | None:
        row = await self.db.fetchone(f"SELECT {rows.DOMAIN_COLUMNS} FROM receiving_domains WHERE name = %s", (name,))
        return ReceivingDomain(*row) if row else None

    async def delete_domain(self, project_id: str, domain_id: str) -> bool:
        deleted = await self.db.rowcount(
            "DELETE FROM receiving_domains WHERE id = %s AND project_id = %s", (domain_id, project_id)
        )
        return deleted == 1

    async def add(self, message: InboundMessage, deliveries: tuple[WebhookDelivery, ...]) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                rows.ADD_MESSAGE.format(p="%s", j="%s::jsonb"), rows.message_values(message, message.received_at)
            )
            for delivery in deliveries:
                await conn.execute(hook_rows.ADD_DELIVERY.format(p="%s"), hook_rows.new_delivery_values(delivery))

    async def get(self, project_id: str, message_id: str) -> InboundMessage | None:
        row = await self.db.fetchone(rows.GET.format(p="%s"), (message_id, project_id))
        return rows.message_of(*row) if row else None

    async def received_before(self, moment: datetime, limit: int) -> list[InboundMessage]:
        found = await self.db.fetchall(rows.BEFORE.format(p="%s"), (moment, limit))
        return [rows.message_of(*r) for r in found]

    async def delete(self, project_id: str, message_id: str) -> InboundMessage | None:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(rows.DELETE.format(p="%s"), (message_id, project_id))
            row = await cursor.fetchone()
        return rows.message_of(*row) if row else None

    async def page(
        self, project_id: str, limit: int, after: str | None, where: InboundFilter
    ) -> tuple[list[InboundMessage], bool]:
        found = await self.db.fetchall(rows.PAGE.format(p="%s"), rows.page_values(project_id, after, where, limit))
        messages = [rows.message_of(*r) for r in found]
        return messages[:limit], len(messages) > limit

    async def add_route(self, route: InboundRoute) -> None:
        await self.db.rowcount(
            extras.ADD_ROUTE.format(p="%s", j="%s::jsonb"),
            (route.id, route.project_id, route.created_at, extras.route_payload(route)),
        )

    async def routes(self, project_id: str) -> list[InboundRoute]:
        found = await self.db.fetchall(extras.ROUTES.format(p="%s"), (project_id,))
        return [extras.route_of(*r) for r in found]

    async def delete_route(self, project_id: str, route_id: str) -> bool:
        return await self.db.rowcount(extras.DELETE_ROUTE.format(p="%s"), (route_id, project_id)) == 1

    async def add_report(self, report: DmarcReport) -> bool:
        added = await self.db.rowcount(
            extras.ADD_REPORT.format(p="%s", j="%s::jsonb"), extras.report_values(report, report.begins)
        )
        return added == 1

    async def reports(self, project_id: str, domain: str, since: datetime) -> list[DmarcReport]:
        found = await self.db.fetchall(extras.REPORTS.format(p="%s"), (project_id, domain, since))
        return [extras.report_of(*r) for r in found]

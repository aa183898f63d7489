"""Inbound mail on SQLite: receiving domains, and each message stored with its webhook deliveries
in one transaction."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from adapters.storage.codec import ts
from adapters.storage.rows import inbound as rows
from adapters.storage.rows import inbound_extras as extras
from adapters.storage.rows import webhooks as hook_rows
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.dmarc import DmarcReport
from autorelay_core.domain.inbound import InboundMessage, ReceivingDomain
from autorelay_core.domain.inbound_routes import InboundRoute
from autorelay_core.domain.webhooks import WebhookDelivery
from autorelay_core.ports.inbound import InboundFilter


class SqliteInbound:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add_domain(self, domain: ReceivingDomain) -> None:
        d = domain
        try:
            async with self._t.tx() as conn:
                conn.execute(
                    f"INSERT INTO receiving_domains ({rows.DOMAIN_COLUMNS}) VALUES (?, ?, ?, ?)",
                    (d.id, d.project_id, d.name, d.created_at.isoformat()),
                )
        except sqlite3.IntegrityError as error:
            raise rows.clash(domain) from error

    async def domains(self, project_id: str) -> list[ReceivingDomain]:
        found = self._t.conn.execute(
            f"SELECT {rows.DOMAIN_COLUMNS} FROM receiving_domains WHERE project_id = ? ORDER BY created_at, id",
            (project_id,),
        )
        return [_domain(r) for r in found]

    async def domain_named(self, name: str) -> ReceivingDomain | None:
        row = self._t.conn.execute(
            f"SELECT {rows.DOMAIN_COLUMNS} FROM receiving_domains WHERE name = ?", (name,)
        ).fetchone()
        return _domain(row) if row else None

    async def delete_domain(self, project_id: str, domain_id: str) -> bool:
        async with self._t.tx() as conn:
            cursor = conn.execute(
                "DELETE FROM receiving_domains WHERE id = ? AND project_id = ?", (domain_id, project_id)
            )
        return cursor.rowcount == 1

    async def add(self, message: InboundMessage, deliveries: tuple[WebhookDelivery, ...]) -> None:
        async with self._t.tx() as conn:
            conn.execute(rows.ADD_MESSAGE.format(p="?", j="?"), rows.message_values(message, ts(message.received_at)))
            for delivery in deliveries:
                conn.execute(hook_rows.ADD_DELIVERY.format(p="?"), hook_rows.new_delivery_values(delivery, ts))

    async def get(self, project_id: str, message_id: str) -> InboundMessage | None:
        row = self._t.conn.execute(rows.GET.format(p="?"), (message_id, project_id)).fetchone()
        return _message(row) if row else None

    async def received_before(self, moment: datetime, limit: int) -> list[InboundMessage]:
        found = self._t.conn.execute(rows.BEFORE.format(p="?"), (ts(moment), limit))
        return [_message(r) for r in found]

    async def delete(self, project_id: str, message_id: str) -> InboundMessage | None:
        async with self._t.tx() as conn:
            row = conn.execute(rows.DELETE.format(p="?"), (message_id, project_id)).fetchone()
        return _message(row) if row else None

    async def page(
        self, project_id: str, limit: int, after: str | None, where: InboundFilter
    ) -> tuple[list[InboundMessage], bool]:
        found = self._t.conn.execute(rows.PAGE.format(p="?"), rows.page_values(project_id, after, where, limit))
        messages = [_message(r) for r in found]
        return messages[:limit], len(messages) > limit

    async def add_route(self, route: InboundRoute) -> None:
        async with self._t.tx() as conn:
            conn.execute(
                extras.ADD_ROUTE.format(p="?", j="?"),
                (route.id, route.project_id, ts(route.created_at), extras.route_payload(route)),
            )

    async def routes(self, project_id: str) -> list[InboundRoute]:
        found = self._t.conn.execute(extras.ROUTES.format(p="?"), (project_id,))
        return [extras.route_of(r[0], r[1], datetime.fromtimestamp(r[2], UTC), r[3]) for r in found]

    async def delete_route(self, project_id: str, route_id: str) -> bool:
        async with self._t.tx() as conn:
            cursor = conn.execute(extras.DELETE_ROUTE.format(p="?"), (route_id, project_id))
        return cursor.rowcount == 1

    async def add_report(self, report: DmarcReport) -> bool:
        async with self._t.tx() as conn:
            cursor = conn.execute(
                extras.ADD_REPORT.format(p="?", j="?"), extras.report_values(report, ts(report.begins))
            )
        return cursor.rowcount == 1

    async def reports(self, project_id: str, domain: str, since: datetime) -> list[DmarcReport]:
        found = self._t.conn.execute(extras.REPORTS.format(p="?"), (project_id, domain, ts(since)))
        return [extras.report_of(*r) for r in found]


def _domain(row: tuple) -> ReceivingDomain:
    return ReceivingDomain(row[0], row[1], row[2], datetime.fromisoformat(row[3]))


def _message(row: tuple) -> InboundMessage:
    return rows.message_of(row[0], row[1], datetime.fromtimestamp(row[2], UTC), row[3])

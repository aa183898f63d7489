"""Webhook endpoints and their delivery outbox on PostgreSQL (see store.py for the pool)."""

from __future__ import annotations

import builtins
from datetime import datetime

from adapters.storage.postgres.database import Database
from adapters.storage.rows import webhooks as rows
from autorelay_core.domain.webhooks import PAUSED_ERROR, Attempt, Webhook, WebhookDelivery
from autorelay_core.ports import DeliveryClaim

_CLAIMED = ", ".join(f"d.{c.strip()}" for c in rows.DELIVERY_COLUMNS.split(","))


class PostgresWebhooks:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, webhook: Webhook) -> None:
        await self.db.rowcount(
            f"INSERT INTO webhooks ({rows.HOOK_COLUMNS}) VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s)",
            rows.hook_values(webhook),
        )

    async def get(self, project_id: str, webhook_id: str) -> Webhook | None:
        row = await self.db.fetchone(
            f"SELECT {rows.HOOK_COLUMNS} FROM webhooks WHERE id = %s AND project_id = %s", (webhook_id, project_id)
        )
        return rows.hook_row(row) if row else None

    async def list(self, project_id: str) -> list[Webhook]:
        found = await self.db.fetchall(
            f"SELECT {rows.HOOK_COLUMNS} FROM webhooks WHERE project_id = %s ORDER BY seq", (project_id,)
        )
        return [rows.hook_row(r) for r in found]

    async def update(self, webhook: Webhook) -> None:
        _, _, url, events, _, active, _, _, shape = rows.hook_values(webhook)
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE webhooks SET url = %s, events = %s::jsonb, active = %s, format = %s"
                " WHERE id = %s AND project_id = %s",
                (url, events, active, shape, webhook.id, webhook.project_id),
            )
            if not webhook.active:
                await conn.execute(rows.PAUSE.format(p="%s"), (PAUSED_ERROR, webhook.id))

    async def delete(self, project_id: str, webhook_id: str) -> bool:
        async with self.db.transaction() as conn:
            gone = await conn.execute(
                "DELETE FROM webhooks WHERE id = %s AND project_id = %s", (webhook_id, project_id)
            )
            if gone.rowcount:
                await conn.execute("DELETE FROM webhook_deliveries WHERE webhook_id = %s", (webhook_id,))
                await conn.execute("DELETE FROM webhook_attempts WHERE webhook_id = %s", (webhook_id,))
        return gone.rowcount == 1

    async def backlog(self, now: datetime) -> int:
        row = await self.db.fetchone(
            "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending' AND due_at <= %s", (now,)
        )
        return row[0] if row else 0

    async def add_delivery(self, delivery: WebhookDelivery) -> None:
        await self.db.rowcount(rows.ADD_DELIVERY.format(p="%s"), rows.new_delivery_values(delivery))

    async def recent(
        self, project_id: str, webhook_id: str, limit: int, before: str | None = None
    ) -> tuple[builtins.list[WebhookDelivery], bool]:
        found = await self.db.fetchall(
            rows.RECENT.format(p="%s"), (webhook_id, project_id, before, webhook_id, 2**62, limit + 1)
        )
        return [rows.delivery_row(r) for r in found[:limit]], len(found) > limit

    async def attempts(self, project_id: str, delivery_id: str) -> builtins.list[Attempt]:
        found = await self.db.fetchall(rows.ATTEMPTS.format(p="%s"), (delivery_id, project_id))
        return [rows.attempt_row(r) for r in found]

    async def failures(
        self, project_id: str, webhook_id: str, limit: int
    ) -> tuple[builtins.list[WebhookDelivery], bool]:
        found = await self.db.fetchall(rows.FAILURES.format(p="%s"), (webhook_id, project_id, limit + 1))
        return [rows.delivery_row(r) for r in found[:limit]], len(found) > limit

    async def replay(self, project_id: str, webhook_id: str, delivery_id: str, now: datetime) -> WebhookDelivery | None:
        async with self.db.transaction() as conn:
            await conn.execute(rows.REPLAY.format(p="%s"), (now, delivery_id, webhook_id, project_id))
            cursor = await conn.execute(
                f"SELECT {rows.DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = %s AND webhook_id = %s"
                " AND project_id = %s",
                (delivery_id, webhook_id, project_id),
            )
            row = await cursor.fetchone()
        return rows.delivery_row(row) if row else None

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> builtins.list[DeliveryClaim]:
        found = await self.db.fetchall(
            "WITH due AS (SELECT id FROM webhook_deliveries WHERE (state = 'pending' AND due_at <= %s)"
            " OR (state = 'leased' AND lease_until <= %s) ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED)"
            " UPDATE webhook_deliveries d SET state = 'leased', lease_until = %s, attempts = d.attempts + 1"
            " FROM due, webhooks w WHERE d.id = due.id AND w.id = d.webhook_id"
            f" RETURNING {_CLAIMED}, w.url, w.secret, w.format",
            (now, now, limit, lease_until),
        )
        claims = [DeliveryClaim(rows.delivery_row(r[:-3]), r[-3], r[-2], lease_until, r[-1]) for r in found]
        return sorted(claims, key=lambda c: c.delivery.due_at or now)

    async def settle(self, claim: DeliveryClaim, delivery: WebhookDelivery) -> bool:
        async with self.db.transaction() as conn:
            done = await conn.execute(rows.SETTLE.format(p="%s"), rows.settle_args(claim.delivery.attempts, delivery))
            if done.rowcount == 1:
                await conn.execute(
                    rows.ADD_ATTEMPT.format(p="%s"), rows.attempt_values(delivery, claim.delivery.attempts)
                )
        return done.rowcount == 1

    async def next_due(self) -> datetime | None:
        row = await self.db.fetchone(rows.NEXT_DUE)
        return row[0] if row else None

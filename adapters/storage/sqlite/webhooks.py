"""Webhook endpoints and their delivery outbox on SQLite (see tables.py for the connection)."""

from __future__ import annotations

import builtins
import sqlite3
from datetime import datetime

from adapters.storage.codec import ts
from adapters.storage.rows import webhooks as rows
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.webhooks import PAUSED_ERROR, Attempt, Notice, Webhook, WebhookDelivery
from autorelay_core.ports import DeliveryClaim

_FAN_OUT = (
    "INSERT INTO webhook_deliveries (id, webhook_id, project_id, event_id, event_type, body, created_at, state,"
    " due_at) SELECT 'whd_' || lower(hex(randomblob(12))), w.id, w.project_id, ?, ?, ?, ?, 'pending', ?"
    " FROM webhooks w WHERE w.project_id = ? AND w.active = 1 AND (w.test = 0 OR ? = 0)"
    " AND EXISTS (SELECT 1 FROM json_each(w.events) WHERE value = ?)"
)


_SUBSCRIBED = "SELECT DISTINCT j.value FROM webhooks w, json_each(w.events) j WHERE w.project_id = ? AND w.active = 1"


def fan_out(conn: sqlite3.Connection, project_id: str, notices: tuple[Notice, ...]) -> None:
    """Inside the caller's transaction: one pending delivery per subscribed active endpoint. The
    subscriptions are read first, so a notice nobody subscribes to is never serialised."""
    if not notices:
        return
    subscribed = {row[0] for row in conn.execute(_SUBSCRIBED, (project_id,))}
    wanted = [n for n in notices if n.type in subscribed]
    if wanted:
        conn.executemany(
            _FAN_OUT,
            [
                (n.event_id, n.type, n.body, ts(n.created_at), ts(n.created_at), project_id, n.live, n.type)
                for n in wanted
            ],
        )


class SqliteWebhooks:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, webhook: Webhook) -> None:
        async with self._t.tx() as conn:
            conn.execute(
                f"INSERT INTO webhooks ({rows.HOOK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows.hook_values(webhook, ts),
            )

    async def get(self, project_id: str, webhook_id: str) -> Webhook | None:
        row = self._t.conn.execute(
            f"SELECT {rows.HOOK_COLUMNS} FROM webhooks WHERE id = ? AND project_id = ?", (webhook_id, project_id)
        ).fetchone()
        return rows.hook_row(row) if row else None

    async def list(self, project_id: str) -> list[Webhook]:
        found = self._t.conn.execute(
            f"SELECT {rows.HOOK_COLUMNS} FROM webhooks WHERE project_id = ? ORDER BY seq", (project_id,)
        )
        return [rows.hook_row(r) for r in found]

    async def update(self, webhook: Webhook) -> None:
        _, _, url, events, _, active, _, _, shape = rows.hook_values(webhook)
        async with self._t.tx() as conn:
            conn.execute(
                "UPDATE webhooks SET url = ?, events = ?, active = ?, format = ? WHERE id = ? AND project_id = ?",
                (url, events, active, shape, webhook.id, webhook.project_id),
            )
            if not webhook.active:
                conn.execute(rows.PAUSE.format(p="?"), (PAUSED_ERROR, webhook.id))

    async def delete(self, project_id: str, webhook_id: str) -> bool:
        async with self._t.tx() as conn:
            gone = conn.execute("DELETE FROM webhooks WHERE id = ? AND project_id = ?", (webhook_id, project_id))
            if gone.rowcount:
                conn.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?", (webhook_id,))
                conn.execute("DELETE FROM webhook_attempts WHERE webhook_id = ?", (webhook_id,))
        return gone.rowcount == 1

    async def backlog(self, now: datetime) -> int:
        (count,) = self._t.conn.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending' AND due_at <= ?", (ts(now),)
        ).fetchone()
        return count

    async def add_delivery(self, delivery: WebhookDelivery) -> None:
        async with self._t.tx() as conn:
            conn.execute(rows.ADD_DELIVERY.format(p="?"), rows.new_delivery_values(delivery, ts))

    async def recent(
        self, project_id: str, webhook_id: str, limit: int, before: str | None = None
    ) -> tuple[builtins.list[WebhookDelivery], bool]:
        found = self._t.conn.execute(
            rows.RECENT.format(p="?"), (webhook_id, project_id, before, webhook_id, 2**62, limit + 1)
        ).fetchall()
        return [rows.delivery_row(r) for r in found[:limit]], len(found) > limit

    async def attempts(self, project_id: str, delivery_id: str) -> builtins.list[Attempt]:
        found = self._t.conn.execute(rows.ATTEMPTS.format(p="?"), (delivery_id, project_id))
        return [rows.attempt_row(r) for r in found]

    async def failures(
        self, project_id: str, webhook_id: str, limit: int
    ) -> tuple[builtins.list[WebhookDelivery], bool]:
        found = self._t.conn.execute(rows.FAILURES.format(p="?"), (webhook_id, project_id, limit + 1)).fetchall()
        return [rows.delivery_row(r) for r in found[:limit]], len(found) > limit

    async def replay(self, project_id: str, webhook_id: str, delivery_id: str, now: datetime) -> WebhookDelivery | None:
        async with self._t.tx() as conn:
            conn.execute(rows.REPLAY.format(p="?"), (ts(now), delivery_id, webhook_id, project_id))
            row = conn.execute(
                f"SELECT {rows.DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ? AND webhook_id = ?"
                " AND project_id = ?",
                (delivery_id, webhook_id, project_id),
            ).fetchone()
        return rows.delivery_row(row) if row else None

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> builtins.list[DeliveryClaim]:
        columns = ", ".join(f"d.{c.strip()}" for c in rows.DELIVERY_COLUMNS.split(","))
        async with self._t.tx() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM webhook_deliveries WHERE (state = 'pending' AND due_at <= ?)"
                    " OR (state = 'leased' AND lease_until <= ?) ORDER BY due_at LIMIT ?",
                    (ts(now), ts(now), limit),
                )
            ]
            if not ids:
                return []
            conn.executemany(
                "UPDATE webhook_deliveries SET state = 'leased', lease_until = ?, attempts = attempts + 1 WHERE id = ?",
                [(ts(lease_until), i) for i in ids],
            )
            found = conn.execute(
                f"SELECT {columns}, w.url, w.secret, w.format FROM webhook_deliveries d"
                " JOIN webhooks w ON w.id = d.webhook_id"
                f" WHERE d.id IN ({', '.join('?' * len(ids))}) ORDER BY d.due_at",
                ids,
            ).fetchall()
        return [DeliveryClaim(rows.delivery_row(r[:-3]), r[-3], r[-2], lease_until, r[-1]) for r in found]

    async def settle(self, claim: DeliveryClaim, delivery: WebhookDelivery) -> bool:
        async with self._t.tx() as conn:
            done = conn.execute(rows.SETTLE.format(p="?"), rows.settle_args(claim.delivery.attempts, delivery, ts))
            if done.rowcount == 1:
                conn.execute(rows.ADD_ATTEMPT.format(p="?"), rows.attempt_values(delivery, claim.delivery.attempts, ts))
        return done.rowcount == 1

    async def next_due(self) -> datetime | None:
        (due,) = self._t.conn.execute(rows.NEXT_DUE).fetchone()
        return rows.time_of(due)

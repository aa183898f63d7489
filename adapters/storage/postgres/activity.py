"""Contact events on PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from adapters.storage.postgres.database import Database
from adapters.storage.rows.activity import COLUMNS, engagement_of, event_row, values
from autorelay_core.domain.activity import ContactEvent
from autorelay_core.domain.emails import Email, Event


def engagement_arrays(email: Email, events: list[Event]) -> tuple[list, ...]:
    """A campaign email's engagement as its contact's events, as the arrays UPDATE_WITH_EVENTS
    inserts (ids, people, names, times, campaigns)."""
    found = engagement_of(email, events)
    return (
        [e.id for e in found],
        [e.email_key for e in found],
        [e.name for e in found],
        [e.occurred_at for e in found],
        [e.campaign_id for e in found],
    )


class PostgresContactEvents:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, event: ContactEvent) -> None:
        await self.db.rowcount(
            f"INSERT INTO contact_events ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s)",
            values(event, event.occurred_at),
        )

    async def timeline(
        self, project_id: str, email_key: str, limit: int, before: datetime | None = None
    ) -> list[ContactEvent]:
        where, args = "project_id = %s AND email_key = %s", list[object]([project_id, email_key])
        if before is not None:
            where += " AND occurred_at < %s"
            args.append(before)
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM contact_events WHERE {where} ORDER BY occurred_at DESC, seq DESC LIMIT %s",
            (*args, limit),
        )
        return [event_row(r) for r in rows]

"""Contact events on SQLite."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from adapters.storage.rows.activity import COLUMNS, engagement_of, event_row, values, when
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.activity import ContactEvent
from autorelay_core.domain.emails import Email, Event

_INSERT = f"INSERT INTO contact_events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def add_engagement(conn: sqlite3.Connection, email: Email, events: list[Event]) -> None:
    """A campaign email's engagement as its contact's events, in the caller's transaction."""
    found = engagement_of(email, events)
    if found:
        conn.executemany(_INSERT, [values(e, when(e.occurred_at)) for e in found])


class SqliteContactEvents:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, event: ContactEvent) -> None:
        async with self._t.tx() as conn:
            conn.execute(_INSERT, values(event, when(event.occurred_at)))

    async def timeline(
        self, project_id: str, email_key: str, limit: int, before: datetime | None = None
    ) -> list[ContactEvent]:
        where, args = "project_id = ? AND email_key = ?", [project_id, email_key]
        if before is not None:
            where += " AND occurred_at < ?"
            args.append(when(before))
        rows = self._t.conn.execute(
            f"SELECT {COLUMNS} FROM contact_events WHERE {where} ORDER BY occurred_at DESC, seq DESC LIMIT ?",
            [*args, limit],
        )
        return [event_row(r) for r in rows]

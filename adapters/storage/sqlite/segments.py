"""Saved segments on SQLite, and a segment's contacts (see rows/segments.py for the compiler)."""

from __future__ import annotations

import sqlite3

from adapters.storage.rows.contacts import COLUMNS as CONTACT_COLUMNS
from adapters.storage.rows.contacts import contact_row
from adapters.storage.rows.segment_rows import COLUMNS, filter_json, segment_row
from adapters.storage.rows.segments import SQLITE, where
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.contacts import Contact
from autorelay_core.domain.segments import Node, Segment
from autorelay_core.errors import Conflict


def _clash(segment: Segment) -> Conflict:
    return Conflict(f"the project already has a segment named {segment.name!r}")


class SqliteSegments:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, segment: Segment) -> None:
        try:
            async with self._t.tx() as conn:
                conn.execute(
                    f"INSERT INTO segments ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        segment.id,
                        segment.project_id,
                        segment.name,
                        filter_json(segment),
                        segment.created_at.isoformat(),
                        segment.updated_at.isoformat(),
                    ),
                )
        except sqlite3.IntegrityError as error:
            raise _clash(segment) from error

    async def get(self, project_id: str, segment_id: str) -> Segment | None:
        row = self._t.conn.execute(
            f"SELECT {COLUMNS} FROM segments WHERE id = ? AND project_id = ?", (segment_id, project_id)
        ).fetchone()
        return segment_row(row) if row else None

    async def all(self, project_id: str) -> list[Segment]:
        rows = self._t.conn.execute(f"SELECT {COLUMNS} FROM segments WHERE project_id = ? ORDER BY seq", (project_id,))
        return [segment_row(r) for r in rows]

    async def update(self, segment: Segment) -> None:
        try:
            async with self._t.tx() as conn:
                conn.execute(
                    "UPDATE segments SET name = ?, filter = ?, updated_at = ? WHERE id = ? AND project_id = ?",
                    (
                        segment.name,
                        filter_json(segment),
                        segment.updated_at.isoformat(),
                        segment.id,
                        segment.project_id,
                    ),
                )
        except sqlite3.IntegrityError as error:
            raise _clash(segment) from error

    async def delete(self, project_id: str, segment_id: str) -> bool:
        async with self._t.tx() as conn:
            cursor = conn.execute("DELETE FROM segments WHERE id = ? AND project_id = ?", (segment_id, project_id))
        return cursor.rowcount == 1


class SegmentQueries:
    """ContactRepository.count_matching and .matching on SQLite."""

    _t: Tables

    async def count_matching(self, project_id: str, segment: Node) -> int:
        condition, args = where(segment, project_id, SQLITE)
        (count,) = self._t.conn.execute(
            f"SELECT count(DISTINCT c.email_key) FROM contacts c WHERE c.project_id = ? AND {condition}",
            [project_id, *args],
        ).fetchone()
        return int(count)

    async def matching(
        self, project_id: str, segment: Node, limit: int, *, subscribed_only: bool = False
    ) -> list[Contact]:
        condition, args = where(segment, project_id, SQLITE)
        status = " AND c.status = 'subscribed'" if subscribed_only else ""
        rows = self._t.conn.execute(
            f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE seq IN (SELECT min(c.seq) FROM contacts c"
            f" WHERE c.project_id = ?{status} AND {condition} GROUP BY c.email_key) ORDER BY seq LIMIT ?",
            [project_id, *args, limit],
        )
        return [contact_row(r) for r in rows]

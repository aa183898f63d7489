"""Saved segments on PostgreSQL, and a segment's contacts (see rows/segments.py for the compiler)."""

from __future__ import annotations

from psycopg import errors

from adapters.storage.postgres.database import Database
from adapters.storage.rows.contacts import COLUMNS as CONTACT_COLUMNS
from adapters.storage.rows.contacts import contact_row
from adapters.storage.rows.segment_rows import COLUMNS, filter_json, segment_row
from adapters.storage.rows.segments import POSTGRES, where
from autorelay_core.domain.contacts import Contact
from autorelay_core.domain.segments import Node, Segment
from autorelay_core.errors import Conflict


def _clash(segment: Segment) -> Conflict:
    return Conflict(f"the project already has a segment named {segment.name!r}")


class PostgresSegments:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, segment: Segment) -> None:
        try:
            await self.db.rowcount(
                f"INSERT INTO segments ({COLUMNS}) VALUES (%s, %s, %s, %s::jsonb, %s, %s)",
                (
                    segment.id,
                    segment.project_id,
                    segment.name,
                    filter_json(segment),
                    segment.created_at,
                    segment.updated_at,
                ),
            )
        except errors.UniqueViolation as error:
            raise _clash(segment) from error

    async def get(self, project_id: str, segment_id: str) -> Segment | None:
        row = await self.db.fetchone(
            f"SELECT {COLUMNS} FROM segments WHERE id = %s AND project_id = %s", (segment_id, project_id)
        )
        return segment_row(row) if row else None

    async def all(self, project_id: str) -> list[Segment]:
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM segments WHERE project_id = %s ORDER BY seq", (project_id,)
        )
        return [segment_row(r) for r in rows]

    async def update(self, segment: Segment) -> None:
        try:
            await self.db.rowcount(
                "UPDATE segments SET name = %s, filter = %s::jsonb, updated_at = %s WHERE id = %s AND project_id = %s",
                (segment.name, filter_json(segment), segment.updated_at, segment.id, segment.project_id),
            )
        except errors.UniqueViolation as error:
            raise _clash(segment) from error

    async def delete(self, project_id: str, segment_id: str) -> bool:
        count = await self.db.rowcount(
            "DELETE FROM segments WHERE id = %s AND project_id = %s", (segment_id, project_id)
        )
        return count == 1


class SegmentQueries:
    """ContactRepository.count_matching and .matching on PostgreSQL."""

    db: Database

    async def count_matching(self, project_id: str, segment: Node) -> int:
        condition, args = where(segment, project_id, POSTGRES)
        row = await self.db.fetchone(
            f"SELECT count(DISTINCT c.email_key) FROM contacts c WHERE c.project_id = %s AND {condition}",
            (project_id, *args),
        )
        return int(row[0]) if row else 0

    async def matching(
        self, project_id: str, segment: Node, limit: int, *, subscribed_only: bool = False
    ) -> list[Contact]:
        condition, args = where(segment, project_id, POSTGRES)
        status = " AND c.status = 'subscribed'" if subscribed_only else ""
        rows = await self.db.fetchall(
            f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE seq IN (SELECT min(c.seq) FROM contacts c"
            f" WHERE c.project_id = %s{status} AND {condition} GROUP BY c.email_key) ORDER BY seq LIMIT %s",
            (project_id, *args, limit),
        )
        return [contact_row(r) for r in rows]

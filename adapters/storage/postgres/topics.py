"""Topics and people's choices about them on PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from psycopg import errors

from adapters.storage.postgres.database import Database
from adapters.storage.rows.topics import COLUMNS, clash, topic_row
from autorelay_core.domain.topics import Topic


class PostgresTopics:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, topic: Topic) -> None:
        t = topic
        try:
            await self.db.rowcount(
                f"INSERT INTO topics ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (t.id, t.project_id, t.name, t.description, t.default.value, t.created_at, t.updated_at),
            )
        except errors.UniqueViolation as error:
            raise clash(topic) from error

    async def get(self, project_id: str, topic_id: str) -> Topic | None:
        row = await self.db.fetchone(
            f"SELECT {COLUMNS} FROM topics WHERE id = %s AND project_id = %s", (topic_id, project_id)
        )
        return topic_row(row) if row else None

    async def all(self, project_id: str) -> list[Topic]:
        rows = await self.db.fetchall(f"SELECT {COLUMNS} FROM topics WHERE project_id = %s ORDER BY seq", (project_id,))
        return [topic_row(r) for r in rows]

    async def update(self, topic: Topic) -> None:
        t = topic
        try:
            await self.db.rowcount(
                "UPDATE topics SET name = %s, description = %s, updated_at = %s WHERE id = %s AND project_id = %s",
                (t.name, t.description, t.updated_at, t.id, t.project_id),
            )
        except errors.UniqueViolation as error:
            raise clash(topic) from error

    async def delete(self, project_id: str, topic_id: str) -> bool:
        async with self.db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM topics WHERE id = %s AND project_id = %s", (topic_id, project_id))
            if cursor.rowcount:
                await conn.execute(
                    "DELETE FROM contact_topics WHERE topic_id = %s AND project_id = %s", (topic_id, project_id)
                )
        return cursor.rowcount == 1

    async def choices(self, project_id: str, email_key: str) -> dict[str, bool]:
        rows = await self.db.fetchall(
            "SELECT topic_id, subscribed FROM contact_topics WHERE project_id = %s AND email_key = %s",
            (project_id, email_key),
        )
        return {topic_id: bool(joined) for topic_id, joined in rows}

    async def choose(self, project_id: str, email_key: str, choices: dict[str, bool], at: datetime) -> None:
        topic_ids = list(choices)
        await self.db.rowcount(
            "INSERT INTO contact_topics (project_id, email_key, topic_id, subscribed, updated_at)"
            " SELECT %s, %s, t, s, %s FROM unnest(%s::text[], %s::boolean[]) AS c(t, s)"
            " ON CONFLICT (project_id, email_key, topic_id)"
            " DO UPDATE SET subscribed = excluded.subscribed, updated_at = excluded.updated_at",
            (project_id, email_key, at, topic_ids, [choices[t] for t in topic_ids]),
        )

    async def choices_for(self, project_id: str, topic_id: str, email_keys: list[str]) -> dict[str, bool]:
        rows = await self.db.fetchall(
            "SELECT email_key, subscribed FROM contact_topics"
            " WHERE topic_id = %s AND project_id = %s AND email_key = ANY(%s::text[])",
            (topic_id, project_id, email_keys),
        )
        return {key: bool(joined) for key, joined in rows}

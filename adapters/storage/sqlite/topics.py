"""Topics and people's choices about them on SQLite."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from adapters.storage.rows.topics import CHUNK, COLUMNS, clash, topic_row
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.topics import Topic


class SqliteTopics:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, topic: Topic) -> None:
        t = topic
        try:
            async with self._t.tx() as conn:
                conn.execute(
                    f"INSERT INTO topics ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (t.id, t.project_id, t.name, t.description, t.default.value, *_times(t)),
                )
        except sqlite3.IntegrityError as error:
            raise clash(topic) from error

    async def get(self, project_id: str, topic_id: str) -> Topic | None:
        row = self._t.conn.execute(
            f"SELECT {COLUMNS} FROM topics WHERE id = ? AND project_id = ?", (topic_id, project_id)
        ).fetchone()
        return topic_row(row) if row else None

    async def all(self, project_id: str) -> list[Topic]:
        rows = self._t.conn.execute(f"SELECT {COLUMNS} FROM topics WHERE project_id = ? ORDER BY seq", (project_id,))
        return [topic_row(r) for r in rows]

    async def update(self, topic: Topic) -> None:
        t = topic
        try:
            async with self._t.tx() as conn:
                conn.execute(
                    "UPDATE topics SET name = ?, description = ?, updated_at = ? WHERE id = ? AND project_id = ?",
                    (t.name, t.description, _iso(t.updated_at), t.id, t.project_id),
                )
        except sqlite3.IntegrityError as error:
            raise clash(topic) from error

    async def delete(self, project_id: str, topic_id: str) -> bool:
        async with self._t.tx() as conn:
            cursor = conn.execute("DELETE FROM topics WHERE id = ? AND project_id = ?", (topic_id, project_id))
            if cursor.rowcount:
                conn.execute("DELETE FROM contact_topics WHERE topic_id = ? AND project_id = ?", (topic_id, project_id))
        return cursor.rowcount == 1

    async def choices(self, project_id: str, email_key: str) -> dict[str, bool]:
        rows = self._t.conn.execute(
            "SELECT topic_id, subscribed FROM contact_topics WHERE project_id = ? AND email_key = ?",
            (project_id, email_key),
        )
        return {topic_id: bool(joined) for topic_id, joined in rows}

    async def choose(self, project_id: str, email_key: str, choices: dict[str, bool], at: datetime) -> None:
        async with self._t.tx() as conn:
            conn.executemany(
                "INSERT INTO contact_topics (project_id, email_key, topic_id, subscribed, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, email_key, topic_id)"
                " DO UPDATE SET subscribed = excluded.subscribed, updated_at = excluded.updated_at",
                [(project_id, email_key, topic_id, int(joined), _iso(at)) for topic_id, joined in choices.items()],
            )

    async def choices_for(self, project_id: str, topic_id: str, email_keys: list[str]) -> dict[str, bool]:
        found: dict[str, bool] = {}
        for start in range(0, len(email_keys), CHUNK):
            chunk = email_keys[start : start + CHUNK]
            rows = self._t.conn.execute(
                "SELECT email_key, subscribed FROM contact_topics WHERE topic_id = ? AND project_id = ?"
                f" AND email_key IN ({', '.join('?' * len(chunk))})",
                (topic_id, project_id, *chunk),
            )
            found.update((key, bool(joined)) for key, joined in rows)
        return found


def _times(topic: Topic) -> tuple[str, str]:
    return topic.created_at.isoformat(), topic.updated_at.isoformat()


def _iso(moment: datetime) -> str:
    return moment.isoformat()

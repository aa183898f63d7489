"""Contact properties on SQLite."""

from __future__ import annotations

import sqlite3

from adapters.storage.rows.properties import COLUMNS, SELECT, default_json, property_row
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.properties import ContactProperty
from autorelay_core.errors import Conflict


class SqliteProperties:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, prop: ContactProperty) -> None:
        try:
            async with self._t.tx() as conn:
                conn.execute(
                    f"INSERT INTO contact_properties ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        prop.id,
                        prop.project_id,
                        prop.key,
                        prop.type.value,
                        default_json(prop),
                        prop.created_at.isoformat(),
                    ),
                )
        except sqlite3.IntegrityError as error:
            raise Conflict(f"the project already has a property '{prop.key}'") from error

    async def all(self, project_id: str) -> list[ContactProperty]:
        rows = self._t.conn.execute(
            f"SELECT {SELECT} FROM contact_properties WHERE project_id = ? ORDER BY key", (project_id,)
        )
        return [property_row(r) for r in rows]

    async def get(self, project_id: str, property_id: str) -> ContactProperty | None:
        row = self._t.conn.execute(
            f"SELECT {SELECT} FROM contact_properties WHERE id = ? AND project_id = ?", (property_id, project_id)
        ).fetchone()
        return property_row(row) if row else None

    async def set_default(self, prop: ContactProperty) -> None:
        async with self._t.tx() as conn:
            conn.execute(
                "UPDATE contact_properties SET default_value = ? WHERE id = ? AND project_id = ?",
                (default_json(prop), prop.id, prop.project_id),
            )

    async def delete(self, project_id: str, property_id: str) -> bool:
        async with self._t.tx() as conn:
            row = conn.execute(
                "DELETE FROM contact_properties WHERE id = ? AND project_id = ? RETURNING key",
                (property_id, project_id),
            ).fetchone()
            if row is None:
                return False
            path = '$."' + row[0] + '"'  # keys are [a-z0-9_]: nothing to escape
            conn.execute(
                "UPDATE contacts SET properties = json_remove(properties, ?)"
                " WHERE project_id = ? AND json_type(properties, ?) IS NOT NULL",
                (path, project_id, path),
            )
        return True

"""Contact properties on PostgreSQL."""

from __future__ import annotations

from psycopg import errors

from adapters.storage.postgres.database import Database
from adapters.storage.rows.properties import COLUMNS, SELECT, default_json, property_row
from autorelay_core.domain.properties import ContactProperty
from autorelay_core.errors import Conflict


class PostgresProperties:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, prop: ContactProperty) -> None:
        try:
            await self.db.rowcount(
                f"INSERT INTO contact_properties ({COLUMNS}) VALUES (%s, %s, %s, %s, %s::jsonb, %s)",
                (prop.id, prop.project_id, prop.key, prop.type.value, default_json(prop), prop.created_at),
            )
        except errors.UniqueViolation as error:
            raise Conflict(f"the project already has a property '{prop.key}'") from error

    async def all(self, project_id: str) -> list[ContactProperty]:
        rows = await self.db.fetchall(
            f"SELECT {SELECT} FROM contact_properties WHERE project_id = %s ORDER BY key", (project_id,)
        )
        return [property_row(r) for r in rows]

    async def get(self, project_id: str, property_id: str) -> ContactProperty | None:
        row = await self.db.fetchone(
            f"SELECT {SELECT} FROM contact_properties WHERE id = %s AND project_id = %s", (property_id, project_id)
        )
        return property_row(row) if row else None

    async def set_default(self, prop: ContactProperty) -> None:
        await self.db.rowcount(
            "UPDATE contact_properties SET default_value = %s::jsonb WHERE id = %s AND project_id = %s",
            (default_json(prop), prop.id, prop.project_id),
        )

    async def delete(self, project_id: str, property_id: str) -> bool:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM contact_properties WHERE id = %s AND project_id = %s RETURNING key",
                (property_id, project_id),
            )
            row = await cursor.fetchone()
            if row is None:
                return False
            await conn.execute(
                "UPDATE contacts SET properties = properties - %s WHERE project_id = %s AND properties ? %s",
                (row[0], project_id, row[0]),
            )
        return True

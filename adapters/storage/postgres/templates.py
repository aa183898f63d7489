"""Templates and their kept versions."""

from __future__ import annotations

import builtins

from adapters.storage.postgres.database import Database
from autorelay_core.domain.templates import KEPT_VERSIONS, Template, TemplateVersion


def _template(row: tuple) -> Template:
    tid, project_id, name, subject, html, text, created, updated = row
    return Template(tid, project_id, name, subject, html, created, updated, text)


class PostgresTemplates:
    _COLUMNS = "id, project_id, name, subject, html, text, created_at, updated_at"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, template: Template) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                f"INSERT INTO templates ({self._COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    template.id,
                    template.project_id,
                    template.name,
                    template.subject,
                    template.html,
                    template.text,
                    template.created_at,
                    template.updated_at,
                ),
            )
            await self._keep(conn, template)

    async def get(self, project_id: str, template_id: str) -> Template | None:
        row = await self.db.fetchone(
            f"SELECT {self._COLUMNS} FROM templates WHERE id = %s AND project_id = %s", (template_id, project_id)
        )
        return _template(row) if row else None

    async def list(self, project_id: str) -> list[Template]:
        rows = await self.db.fetchall(
            f"SELECT {self._COLUMNS} FROM templates WHERE project_id = %s ORDER BY created_at, id", (project_id,)
        )
        return [_template(r) for r in rows]

    async def update(self, template: Template) -> None:
        # The UPDATE locks the row, so concurrent saves number their versions one after the other.
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE templates SET name = %s, subject = %s, html = %s, text = %s, updated_at = %s"
                " WHERE id = %s AND project_id = %s",
                (
                    template.name,
                    template.subject,
                    template.html,
                    template.text,
                    template.updated_at,
                    template.id,
                    template.project_id,
                ),
            )
            if cursor.rowcount == 1:
                await self._keep(conn, template)

    async def delete(self, project_id: str, template_id: str) -> bool:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM templates WHERE id = %s AND project_id = %s", (template_id, project_id)
            )
            if cursor.rowcount == 1:
                await conn.execute("DELETE FROM template_versions WHERE template_id = %s", (template_id,))
        return cursor.rowcount == 1

    @staticmethod
    async def _keep(conn, template: Template) -> None:
        await conn.execute(
            "INSERT INTO template_versions (template_id, number, name, subject, html, text, saved_at)"
            " SELECT %s, COALESCE(MAX(number), 0) + 1, %s, %s, %s, %s, %s FROM template_versions"
            " WHERE template_id = %s",
            (
                template.id,
                template.name,
                template.subject,
                template.html,
                template.text,
                template.updated_at,
                template.id,
            ),
        )
        await conn.execute(
            "DELETE FROM template_versions WHERE template_id = %s"
            " AND number <= (SELECT MAX(number) FROM template_versions WHERE template_id = %s) - %s",
            (template.id, template.id, KEPT_VERSIONS),
        )

    async def versions(self, project_id: str, template_id: str) -> builtins.list[TemplateVersion]:
        rows = await self.db.fetchall(
            "SELECT v.template_id, v.number, v.name, v.subject, v.html, v.text, v.saved_at"
            " FROM template_versions v JOIN templates t ON t.id = v.template_id"
            " WHERE v.template_id = %s AND t.project_id = %s ORDER BY v.number DESC",
            (template_id, project_id),
        )
        return [TemplateVersion(*row) for row in rows]

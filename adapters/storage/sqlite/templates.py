"""Templates and their kept versions."""

from __future__ import annotations

import builtins
import sqlite3
from datetime import datetime

from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.templates import KEPT_VERSIONS, Template, TemplateVersion


def _template(row: tuple) -> Template:
    tid, project_id, name, subject, html, text, created, updated = row
    return Template(
        tid, project_id, name, subject, html, datetime.fromisoformat(created), datetime.fromisoformat(updated), text
    )


class SqliteTemplates(Tables):
    _COLUMNS = "id, project_id, name, subject, html, text, created_at, updated_at"

    @staticmethod
    def _row(template: Template) -> dict:
        return {
            "id": template.id,
            "project_id": template.project_id,
            "name": template.name,
            "subject": template.subject,
            "html": template.html,
            "text": template.text,
            "created_at": template.created_at.isoformat(),
            "updated_at": template.updated_at.isoformat(),
        }

    async def add(self, template: Template) -> None:
        async with self.tx() as conn:
            self.db.table("templates").insert(self._row(template))
            self._keep(conn, template)

    async def get(self, project_id: str, template_id: str) -> Template | None:
        row = self.conn.execute(
            f"SELECT {self._COLUMNS} FROM templates WHERE id = ? AND project_id = ?", (template_id, project_id)
        ).fetchone()
        return _template(row) if row else None

    async def list(self, project_id: str) -> list[Template]:
        rows = self.conn.execute(
            f"SELECT {self._COLUMNS} FROM templates WHERE project_id = ? ORDER BY created_at, rowid", (project_id,)
        )
        return [_template(r) for r in rows]

    async def update(self, template: Template) -> None:
        async with self.tx() as conn:
            self.db.table("templates").update(template.id, self._row(template))
            self._keep(conn, template)

    async def delete(self, project_id: str, template_id: str) -> bool:
        async with self.tx() as conn:
            cursor = conn.execute("DELETE FROM templates WHERE id = ? AND project_id = ?", (template_id, project_id))
            if cursor.rowcount == 1:
                conn.execute("DELETE FROM template_versions WHERE template_id = ?", (template_id,))
        return cursor.rowcount == 1

    @staticmethod
    def _keep(conn: sqlite3.Connection, template: Template) -> None:
        (number,) = conn.execute(
            "SELECT COALESCE(MAX(number), 0) + 1 FROM template_versions WHERE template_id = ?", (template.id,)
        ).fetchone()
        conn.execute(
            "INSERT INTO template_versions (template_id, number, name, subject, html, text, saved_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                template.id,
                number,
                template.name,
                template.subject,
                template.html,
                template.text,
                template.updated_at.isoformat(),
            ),
        )
        conn.execute(
            "DELETE FROM template_versions WHERE template_id = ? AND number <= ?", (template.id, number - KEPT_VERSIONS)
        )

    async def versions(self, project_id: str, template_id: str) -> builtins.list[TemplateVersion]:
        rows = self.conn.execute(
            "SELECT v.template_id, v.number, v.name, v.subject, v.html, v.text, v.saved_at"
            " FROM template_versions v JOIN templates t ON t.id = v.template_id"
            " WHERE v.template_id = ? AND t.project_id = ? ORDER BY v.number DESC",
            (template_id, project_id),
        )
        return [
            TemplateVersion(tid, number, name, subject, html, text, datetime.fromisoformat(saved))
            for tid, number, name, subject, html, text, saved in rows
        ]

"""Sending domains (their DKIM keys sealed)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from adapters.storage import codec
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.domains import Domain, DomainStatus
from autorelay_core.errors import Conflict


def _domain(row: tuple) -> Domain:
    did, project_id, name, status, created, verified, selector, public, private, tokens = row
    return Domain(
        did,
        project_id,
        name,
        datetime.fromisoformat(created),
        DomainStatus(status),
        datetime.fromisoformat(verified) if verified else None,
        selector,
        public,
        private,
        tuple(json.loads(tokens)),
    )


class SqliteDomains(Tables):
    _COLUMNS = (
        "id, project_id, name, status, created_at, verified_at, dkim_selector, dkim_public_key, dkim_private_key,"
        " dkim_tokens"
    )

    async def get_by_name(self, project_id: str, name: str) -> Domain | None:
        row = self.conn.execute(
            f"SELECT {self._COLUMNS} FROM domains WHERE project_id = ? AND name = ?", (project_id, name.lower())
        ).fetchone()
        return _domain(row) if row else None

    async def named(self, name: str) -> list[Domain]:
        found = self.conn.execute(f"SELECT {self._COLUMNS} FROM domains WHERE name = ?", (name.lower(),))
        return [_domain(row) for row in found]

    async def get(self, project_id: str, domain_id: str) -> Domain | None:
        row = self.conn.execute(
            f"SELECT {self._COLUMNS} FROM domains WHERE project_id = ? AND id = ?", (project_id, domain_id)
        ).fetchone()
        return _domain(row) if row else None

    async def all(self, project_id: str) -> list[Domain]:
        rows = self.conn.execute(
            f"SELECT {self._COLUMNS} FROM domains WHERE project_id = ? ORDER BY created_at, rowid", (project_id,)
        )
        return [_domain(r) for r in rows]

    async def add(self, domain: Domain) -> None:
        try:
            async with self.tx() as conn:
                conn.execute(
                    f"INSERT INTO domains ({self._COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        domain.id,
                        domain.project_id,
                        domain.name,
                        domain.status.value,
                        domain.created_at.isoformat(),
                        domain.verified_at.isoformat() if domain.verified_at else None,
                        domain.dkim_selector,
                        domain.dkim_public_key,
                        domain.dkim_private_key,
                        codec.dumps(list(domain.dkim_tokens)),
                    ),
                )
        except sqlite3.IntegrityError as error:
            raise Conflict(f"the project already has the domain {domain.name}") from error

    async def update(self, domain: Domain) -> None:
        async with self.tx() as conn:
            conn.execute(
                "UPDATE domains SET status = ?, verified_at = ? WHERE id = ?",
                (domain.status.value, domain.verified_at.isoformat() if domain.verified_at else None, domain.id),
            )

    async def count(self, project_id: str) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM domains WHERE project_id = ?", (project_id,)).fetchone()[0]

    async def delete(self, project_id: str, domain_id: str) -> bool:
        async with self.tx() as conn:
            cursor = conn.execute("DELETE FROM domains WHERE project_id = ? AND id = ?", (project_id, domain_id))
        return cursor.rowcount == 1

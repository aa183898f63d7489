"""Sending domains (their DKIM keys sealed)."""

from __future__ import annotations

from psycopg import errors

from adapters.storage.postgres.database import Database
from autorelay_core.domain.domains import Domain, DomainStatus
from autorelay_core.errors import Conflict


def _domain(row: tuple) -> Domain:
    did, project_id, name, status, created, verified, selector, public, private, tokens = row
    return Domain(
        did, project_id, name, created, DomainStatus(status), verified, selector, public, private, tuple(tokens)
    )


class PostgresDomains:
    _COLUMNS = (
        "id, project_id, name, status, created_at, verified_at, dkim_selector, dkim_public_key, dkim_private_key,"
        " dkim_tokens"
    )

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_by_name(self, project_id: str, name: str) -> Domain | None:
        row = await self.db.fetchone(
            f"SELECT {self._COLUMNS} FROM domains WHERE project_id = %s AND name = %s", (project_id, name.lower())
        )
        return _domain(row) if row else None

    async def named(self, name: str) -> list[Domain]:
        found = await self.db.fetchall(f"SELECT {self._COLUMNS} FROM domains WHERE name = %s", (name.lower(),))
        return [_domain(row) for row in found]

    async def get(self, project_id: str, domain_id: str) -> Domain | None:
        row = await self.db.fetchone(
            f"SELECT {self._COLUMNS} FROM domains WHERE project_id = %s AND id = %s", (project_id, domain_id)
        )
        return _domain(row) if row else None

    async def all(self, project_id: str) -> list[Domain]:
        rows = await self.db.fetchall(
            f"SELECT {self._COLUMNS} FROM domains WHERE project_id = %s ORDER BY created_at, id", (project_id,)
        )
        return [_domain(r) for r in rows]

    async def add(self, domain: Domain) -> None:
        try:
            await self.db.rowcount(
                f"INSERT INTO domains ({self._COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    domain.id,
                    domain.project_id,
                    domain.name,
                    domain.status.value,
                    domain.created_at,
                    domain.verified_at,
                    domain.dkim_selector,
                    domain.dkim_public_key,
                    domain.dkim_private_key,
                    list(domain.dkim_tokens),
                ),
            )
        except errors.UniqueViolation as error:
            raise Conflict(f"the project already has the domain {domain.name}") from error

    async def update(self, domain: Domain) -> None:
        await self.db.rowcount(
            "UPDATE domains SET status = %s, verified_at = %s WHERE id = %s",
            (domain.status.value, domain.verified_at, domain.id),
        )

    async def count(self, project_id: str) -> int:
        row = await self.db.fetchone("SELECT count(*) FROM domains WHERE project_id = %s", (project_id,))
        return row[0] if row else 0

    async def delete(self, project_id: str, domain_id: str) -> bool:
        deleted = await self.db.rowcount(
            "DELETE FROM domains WHERE project_id = %s AND id = %s", (project_id, domain_id)
        )
        return deleted == 1

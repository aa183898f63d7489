"""Projects and their API keys."""

from __future__ import annotations

from datetime import datetime

from psycopg import errors

from adapters.storage.postgres.database import Database
from autorelay_core.domain.keys import ApiKey, KeyMode
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.errors import Conflict


def _project(row: tuple) -> Project:
    pid, name, status, reason, created, *switches = row
    return Project(pid, name, created, AccountStatus(status), reason, *switches)


class PostgresProjects:
    _COLUMNS = (
        "id, name, status, status_reason, created_at, track_opens, track_clicks,"
        " resend_uncertain_transactional, resend_uncertain_campaigns, webhooks_local"
    )

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, project: Project) -> None:
        try:
            await self.db.rowcount(
                f"INSERT INTO projects ({self._COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    project.id,
                    project.name,
                    project.status.value,
                    project.status_reason,
                    project.created_at,
                    project.track_opens,
                    project.track_clicks,
                    project.resend_uncertain_transactional,
                    project.resend_uncertain_campaigns,
                    project.webhooks_local,
                ),
            )
        except errors.UniqueViolation as error:
            raise Conflict(f"a project named {project.name!r} already exists") from error

    async def get(self, project_id: str) -> Project | None:
        row = await self.db.fetchone(f"SELECT {self._COLUMNS} FROM projects WHERE id = %s", (project_id,))
        return _project(row) if row else None

    async def get_by_name(self, name: str) -> Project | None:
        row = await self.db.fetchone(f"SELECT {self._COLUMNS} FROM projects WHERE name = %s", (name,))
        return _project(row) if row else None

    async def list(self) -> list[Project]:
        rows = await self.db.fetchall(f"SELECT {self._COLUMNS} FROM projects ORDER BY created_at, id")
        return [_project(r) for r in rows]

    async def set_status(self, project_id: str, status: AccountStatus, reason: str) -> None:
        await self.db.rowcount(
            "UPDATE projects SET status = %s, status_reason = %s WHERE id = %s", (status.value, reason, project_id)
        )

    async def set_uncertain_policy(self, project_id: str, *, transactional: bool, campaigns: bool) -> None:
        await self.db.rowcount(
            "UPDATE projects SET resend_uncertain_transactional = %s, resend_uncertain_campaigns = %s WHERE id = %s",
            (transactional, campaigns, project_id),
        )

    async def set_webhooks_local(self, project_id: str, allowed: bool) -> None:
        await self.db.rowcount("UPDATE projects SET webhooks_local = %s WHERE id = %s", (allowed, project_id))

    async def rename(self, project_id: str, name: str) -> None:
        try:
            await self.db.rowcount("UPDATE projects SET name = %s WHERE id = %s", (name, project_id))
        except errors.UniqueViolation as error:
            raise Conflict(f"a project named {name!r} already exists") from error

    async def set_tracking(self, project_id: str, *, opens: bool, clicks: bool) -> None:
        await self.db.rowcount(
            "UPDATE projects SET track_opens = %s, track_clicks = %s WHERE id = %s", (opens, clicks, project_id)
        )


def _key(row: tuple) -> ApiKey:
    kid, project_id, name, mode, key_hash, last4, scopes, created, revoked, used = row
    return ApiKey(kid, project_id, name, KeyMode(mode), key_hash, last4, tuple(scopes), created, revoked, used)


class PostgresKeys:
    _COLUMNS = "id, project_id, name, mode, key_hash, last4, scopes, created_at, revoked_at, last_used_at"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, key: ApiKey) -> None:
        await self.db.rowcount(
            f"INSERT INTO api_keys ({self._COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                key.id,
                key.project_id,
                key.name,
                key.mode.value,
                key.key_hash,
                key.last4,
                list(key.scopes),
                key.created_at,
                key.revoked_at,
                key.last_used_at,
            ),
        )

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        row = await self.db.fetchone(f"SELECT {self._COLUMNS} FROM api_keys WHERE key_hash = %s", (key_hash,))
        return _key(row) if row else None

    async def list(self, project_id: str) -> list[ApiKey]:
        rows = await self.db.fetchall(
            f"SELECT {self._COLUMNS} FROM api_keys WHERE project_id = %s ORDER BY created_at, id", (project_id,)
        )
        return [_key(r) for r in rows]

    async def revoke(self, key_id: str, at: datetime) -> bool:
        updated = await self.db.rowcount(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, %s) WHERE id = %s", (at, key_id)
        )
        return updated == 1

    async def touch(self, key_id: str, at: datetime) -> None:
        await self.db.rowcount("UPDATE api_keys SET last_used_at = %s WHERE id = %s", (at, key_id))

"""Projects and their API keys."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from adapters.storage import codec
from adapters.storage.sqlite.batch import at_once
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.keys import ApiKey, KeyMode
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.errors import Conflict


def _project(row: sqlite3.Row | tuple) -> Project:
    pid, name, status, reason, created, opens, clicks, resend, resend_campaigns, local = row
    return Project(
        pid,
        name,
        datetime.fromisoformat(created),
        AccountStatus(status),
        reason,
        bool(opens),
        bool(clicks),
        bool(resend),
        bool(resend_campaigns),
        bool(local),
    )


class SqliteProjects(Tables):
    _COLUMNS = (
        "id, name, status, status_reason, created_at, track_opens, track_clicks,"
        " resend_uncertain_transactional, resend_uncertain_campaigns, webhooks_local"
    )

    async def add(self, project: Project) -> None:
        try:
            self.db.table("projects").insert(
                {
                    "id": project.id,
                    "name": project.name,
                    "status": project.status.value,
                    "status_reason": project.status_reason,
                    "created_at": project.created_at.isoformat(),
                    "track_opens": project.track_opens,
                    "track_clicks": project.track_clicks,
                    "resend_uncertain_transactional": project.resend_uncertain_transactional,
                    "resend_uncertain_campaigns": project.resend_uncertain_campaigns,
                    "webhooks_local": project.webhooks_local,
                }
            )
        except sqlite3.IntegrityError as error:
            raise Conflict(f"a project named {project.name!r} already exists") from error

    async def get(self, project_id: str) -> Project | None:
        row = self.conn.execute(f"SELECT {self._COLUMNS} FROM projects WHERE id = ?", (project_id,)).fetchone()
        return _project(row) if row else None

    async def get_by_name(self, name: str) -> Project | None:
        row = self.conn.execute(f"SELECT {self._COLUMNS} FROM projects WHERE name = ?", (name,)).fetchone()
        return _project(row) if row else None

    async def list(self) -> list[Project]:
        rows = self.conn.execute(f"SELECT {self._COLUMNS} FROM projects ORDER BY created_at, rowid")
        return [_project(r) for r in rows]

    async def set_status(self, project_id: str, status: AccountStatus, reason: str) -> None:
        self.conn.execute(
            "UPDATE projects SET status = ?, status_reason = ? WHERE id = ?", (status.value, reason, project_id)
        )

    async def set_uncertain_policy(self, project_id: str, *, transactional: bool, campaigns: bool) -> None:
        self.conn.execute(
            "UPDATE projects SET resend_uncertain_transactional = ?, resend_uncertain_campaigns = ? WHERE id = ?",
            (transactional, campaigns, project_id),
        )

    async def set_webhooks_local(self, project_id: str, allowed: bool) -> None:
        self.conn.execute("UPDATE projects SET webhooks_local = ? WHERE id = ?", (allowed, project_id))

    async def rename(self, project_id: str, name: str) -> None:
        try:
            self.conn.execute("UPDATE projects SET name = ? WHERE id = ?", (name, project_id))
        except sqlite3.IntegrityError as error:
            raise Conflict(f"a project named {name!r} already exists") from error

    async def set_tracking(self, project_id: str, *, opens: bool, clicks: bool) -> None:
        self.conn.execute(
            "UPDATE projects SET track_opens = ?, track_clicks = ? WHERE id = ?", (opens, clicks, project_id)
        )


def _key(row: tuple) -> ApiKey:
    kid, project_id, name, mode, key_hash, last4, scopes, created, revoked, used = row
    return ApiKey(
        id=kid,
        project_id=project_id,
        name=name,
        mode=KeyMode(mode),
        key_hash=key_hash,
        last4=last4,
        scopes=tuple(json.loads(scopes)),
        created_at=datetime.fromisoformat(created),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
        last_used_at=datetime.fromisoformat(used) if used else None,
    )


class SqliteKeys(Tables):
    _COLUMNS = "id, project_id, name, mode, key_hash, last4, scopes, created_at, revoked_at, last_used_at"

    async def add(self, key: ApiKey) -> None:
        self.db.table("api_keys").insert(
            {
                "id": key.id,
                "project_id": key.project_id,
                "name": key.name,
                "mode": key.mode.value,
                "key_hash": key.key_hash,
                "last4": key.last4,
                "scopes": codec.dumps(list(key.scopes)),
                "created_at": key.created_at.isoformat(),
                "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
            }
        )

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        row = self.conn.execute(f"SELECT {self._COLUMNS} FROM api_keys WHERE key_hash = ?", (key_hash,)).fetchone()
        return _key(row) if row else None

    async def list(self, project_id: str) -> list[ApiKey]:
        rows = self.conn.execute(
            f"SELECT {self._COLUMNS} FROM api_keys WHERE project_id = ? ORDER BY created_at, rowid", (project_id,)
        )
        return [_key(r) for r in rows]

    async def revoke(self, key_id: str, at: datetime) -> bool:
        async with self.tx() as conn:
            cursor = conn.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", (at.isoformat(), key_id)
            )
        return cursor.rowcount == 1

    async def touch(self, key_id: str, at: datetime) -> None:
        # Bookkeeping on the request path: never wait on the loop for another process's lock.
        at_once(self.conn, "UPDATE api_keys SET last_used_at = ? WHERE id = ?", (at.isoformat(), key_id))

"""Idempotency-Key records."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import sqlite_utils

from adapters.storage import codec
from adapters.storage.sqlite.batch import GroupCommit
from adapters.storage.sqlite.tables import Tables
from autorelay_core.policies.idempotency import IN_FLIGHT_LEASE, RETENTION, Existing, StoredResponse


class SqliteIdempotency(Tables):
    def __init__(self, db: sqlite_utils.Database, group: GroupCommit) -> None:
        super().__init__(db)
        self._group = group

    async def claim(self, project_id: str, key: str, fingerprint: str, now: datetime) -> Existing | None:
        at = codec.ts(now)

        def write(conn: sqlite3.Connection) -> Existing | None:
            # The claim is a unique insert; only when it loses do we look at who holds the key.
            claimed = conn.execute(
                "INSERT INTO idempotency (project_id, key, fingerprint, claimed_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (project_id, key) DO NOTHING",
                (project_id, key, fingerprint, at),
            ).rowcount
            if claimed:
                return None
            held, claimed_at, status, content_type, body = conn.execute(
                "SELECT fingerprint, claimed_at, status, content_type, body FROM idempotency"
                " WHERE project_id = ? AND key = ?",
                (project_id, key),
            ).fetchone()
            dead_after = RETENTION if status is not None else IN_FLIGHT_LEASE
            if claimed_at > at - dead_after.total_seconds():
                stored = StoredResponse(status, content_type, bytes(body)) if status is not None else None
                return Existing(held, stored)
            # Expired, or abandoned in flight: take it over, unless someone else just did.
            taken = conn.execute(
                "UPDATE idempotency SET fingerprint = ?, claimed_at = ?, status = NULL, content_type = NULL,"
                " body = NULL WHERE project_id = ? AND key = ? AND claimed_at = ?",
                (fingerprint, at, project_id, key, claimed_at),
            ).rowcount
            return None if taken else Existing(held, None)

        return await self._group.run(write)

    async def complete(self, project_id: str, key: str, response: StoredResponse) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE idempotency SET status = ?, content_type = ?, body = ? WHERE project_id = ? AND key = ?",
                (response.status, response.content_type, response.body, project_id, key),
            )

        await self._group.run(write)

    async def release(self, project_id: str, key: str) -> None:
        await self._group.run(
            lambda conn: conn.execute("DELETE FROM idempotency WHERE project_id = ? AND key = ?", (project_id, key))
        )

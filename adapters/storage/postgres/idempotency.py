"""Idempotency-Key records."""

from __future__ import annotations

from datetime import datetime

from adapters.storage.postgres.database import Database
from autorelay_core.policies.idempotency import IN_FLIGHT_LEASE, RETENTION, Existing, StoredResponse


class PostgresIdempotency:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, project_id: str, key: str, fingerprint: str, now: datetime) -> Existing | None:
        async with self.db.transaction() as conn:
            # The claim is a unique insert (a racing insert waits for ours, then does nothing); only
            # when it loses do we look at who holds the key.
            cursor = await conn.execute(
                "INSERT INTO idempotency (project_id, key, fingerprint, claimed_at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (project_id, key) DO NOTHING",
                (project_id, key, fingerprint, now),
            )
            if cursor.rowcount == 1:
                return None
            cursor = await conn.execute(
                "SELECT fingerprint, claimed_at, status, content_type, body FROM idempotency"
                " WHERE project_id = %s AND key = %s",
                (project_id, key),
            )
            row = await cursor.fetchone()
            if row is None:  # released between our insert and our read: the client may retry
                return Existing(fingerprint, None)
            held, claimed_at, status, content_type, body = row
            dead_after = RETENTION if status is not None else IN_FLIGHT_LEASE
            if claimed_at > now - dead_after:
                stored = StoredResponse(status, content_type, bytes(body)) if status is not None else None
                return Existing(held, stored)
            # Expired, or abandoned in flight: take it over, unless someone else just did.
            cursor = await conn.execute(
                "UPDATE idempotency SET fingerprint = %s, claimed_at = %s, status = NULL, content_type = NULL,"
                " body = NULL WHERE project_id = %s AND key = %s AND claimed_at = %s",
                (fingerprint, now, project_id, key, claimed_at),
            )
            return None if cursor.rowcount == 1 else Existing(held, None)

    async def complete(self, project_id: str, key: str, response: StoredResponse) -> None:
        await self.db.rowcount(
            "UPDATE idempotency SET status = %s, content_type = %s, body = %s WHERE project_id = %s AND key = %s",
            (response.status, response.content_type, response.body, project_id, key),
        )

    async def release(self, project_id: str, key: str) -> None:
        await self.db.rowcount("DELETE FROM idempotency WHERE project_id = %s AND key = %s", (project_id, key))

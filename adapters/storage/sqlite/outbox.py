"""The outbox on SQLite: where each email is in delivery (the lease machine).

Writes run in BEGIN IMMEDIATE transactions (or the group commit), which makes claims safe between
processes sharing one database file. The attempt number is the lease token: every claim
increments it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

from adapters.storage import codec
from adapters.storage.sqlite.batch import GroupCommit
from adapters.storage.sqlite.emails import EMAIL_ROW, add_events, update_with_events
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.emails import Email, Event
from autorelay_core.domain.webhooks import Notice
from autorelay_core.ports import Claim


class SqliteOutbox(Tables):
    """Outbox: claims, hand-overs, outcomes and the reconciler's sweep."""

    def __init__(self, db: sqlite_utils.Database, group: GroupCommit) -> None:
        super().__init__(db)
        self._group = group

    async def claim(self, email_id: str, now: datetime, lease_until: datetime, holder: str = "") -> Claim | None:
        async with self.tx() as conn:
            row = conn.execute(
                "UPDATE emails SET delivery = 'leased', lease_until = ?, attempts = attempts + 1, holder = ?"
                " WHERE id = ? AND ((delivery = 'pending' AND due_at <= ?)"
                " OR (delivery = 'leased' AND lease_until <= ?))"
                f" RETURNING {EMAIL_ROW}, attempts",
                (codec.ts(lease_until), holder, email_id, codec.ts(now), codec.ts(now)),
            ).fetchone()
        if row is None:
            return None
        return Claim(email=codec.email_from_parts(row[0], row[1]), attempt=row[2], lease_until=lease_until)

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int, holder: str = "") -> list[Claim]:
        async with self.tx() as conn:
            rows = conn.execute(
                "UPDATE emails SET delivery = 'leased', lease_until = ?, attempts = attempts + 1, holder = ?"
                " WHERE id IN (SELECT id FROM emails WHERE delivery = 'pending' AND due_at <= ?"
                f" ORDER BY due_at LIMIT ?) RETURNING {EMAIL_ROW}, attempts",
                (codec.ts(lease_until), holder, codec.ts(now), limit),
            ).fetchall()
        return [Claim(codec.email_from_parts(r, c), attempt, lease_until) for r, c, attempt in rows]

    async def finish(self, claim: Claim, email: Email, events: list[Event], notices: tuple[Notice, ...] = ()) -> bool:
        # The attempt number is the lease token: every claim increments it.
        update = (
            "UPDATE emails SET delivery = 'done', lease_until = NULL, status = ?, payload = ?, provider_id = ?"
            " WHERE id = ? AND delivery IN ('leased', 'handover') AND attempts = ?"
        )
        values = (email.status.value, codec.email_payload(email), email.provider_message_id, email.id, claim.attempt)
        write = lambda conn: update_with_events(conn, update, values, email, events, notices)  # noqa: E731
        return await self._group.run(write, later=True)

    async def handover(self, claim: Claim, then: Callable[[], None] | None = None) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            return (
                conn.execute(
                    "UPDATE emails SET delivery = 'handover'"
                    " WHERE id = ? AND delivery IN ('leased', 'handover') AND attempts = ?",
                    (claim.email.id, claim.attempt),
                ).rowcount
                == 1
            )

        # `then` runs inside the group commit, right after COMMIT: no other task runs in between.
        return await self._group.run(write, then=then)

    async def claim_handovers(self, now: datetime, lease_until: datetime, limit: int, holder: str = "") -> list[Claim]:
        async with self.tx() as conn:
            rows = conn.execute(
                "UPDATE emails SET lease_until = ?, attempts = attempts + 1, holder = ? WHERE id IN (SELECT id"
                " FROM emails WHERE delivery = 'handover' AND lease_until <= ? LIMIT ?)"
                f" RETURNING {EMAIL_ROW}, attempts",
                (codec.ts(lease_until), holder, codec.ts(now), limit),
            ).fetchall()
        return [Claim(codec.email_from_parts(r, c), attempt, lease_until) for r, c, attempt in rows]

    async def reopen(self, project_id: str, email_id: str, at: datetime) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            return (
                conn.execute(
                    "UPDATE emails SET delivery = 'pending', lease_until = NULL, due_at = ?"
                    " WHERE id = ? AND project_id = ? AND delivery = 'done' AND status = 'uncertain'",
                    (codec.ts(at), email_id, project_id),
                ).rowcount
                == 1
            )

        return await self._group.run(write)

    async def retry_later(self, claim: Claim, at: datetime, error: str, event: Event) -> bool:
        email = claim.email
        email.last_error = error
        async with self.tx() as conn:
            cursor = conn.execute(
                "UPDATE emails SET delivery = 'pending', lease_until = NULL, due_at = ?, payload = ?"
                " WHERE id = ? AND delivery IN ('leased', 'handover') AND attempts = ?",
                (codec.ts(at), codec.email_payload(email), email.id, claim.attempt),
            )
            if cursor.rowcount == 1:
                add_events(conn, email.id, [event])
        return cursor.rowcount == 1

    async def postpone(self, claim: Claim, at: datetime) -> bool:
        # attempts - 1: the attempt is also the lease token, and this claim's token dies here.
        async with self.tx() as conn:
            cursor = conn.execute(
                "UPDATE emails SET delivery = 'pending', lease_until = NULL, due_at = ?, attempts = attempts - 1"
                " WHERE id = ? AND delivery IN ('leased', 'handover') AND attempts = ?",
                (codec.ts(at), claim.email.id, claim.attempt),
            )
        return cursor.rowcount == 1

    async def stale(self, now: datetime, pending_before: datetime, limit: int) -> list[str]:
        async with self.tx() as conn:
            # The waiting first: a lease taken back below is pending too, and named once.
            waiting = conn.execute(
                "SELECT id FROM emails WHERE delivery = 'pending' AND due_at <= ? ORDER BY due_at LIMIT ?",
                (codec.ts(pending_before), limit),
            ).fetchall()
            taken = conn.execute(
                "UPDATE emails SET delivery = 'pending', lease_until = NULL, due_at = ?"
                " WHERE id IN (SELECT id FROM emails WHERE delivery = 'leased' AND lease_until <= ? LIMIT ?)"
                " RETURNING id",
                (codec.ts(now), codec.ts(now), limit),
            ).fetchall()
        return [r[0] for r in taken + waiting]

    async def beat(self, holder: str, now: datetime) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO holders (holder, beat_at) VALUES (?, ?)"
                " ON CONFLICT (holder) DO UPDATE SET beat_at = excluded.beat_at",
                (holder, codec.ts(now)),
            )

        await self._group.run(write)

    async def free_silent(self, now: datetime, silent_since: datetime) -> int:
        def write(conn: sqlite3.Connection) -> int:
            freed = conn.execute(
                "UPDATE emails SET lease_until = ? WHERE lease_until > ? AND delivery IN ('leased', 'handover')"
                " AND holder IN (SELECT holder FROM holders WHERE beat_at < ?)",
                (codec.ts(now), codec.ts(now), codec.ts(silent_since)),
            ).rowcount
            conn.execute("DELETE FROM holders WHERE beat_at < ?", (codec.ts(now) - 86400,))
            return freed

        return await self._group.run(write)

    async def next_due(self) -> datetime | None:
        (due,) = self.conn.execute("SELECT min(due_at) FROM emails WHERE delivery = 'pending'").fetchone()
        return datetime.fromtimestamp(due, UTC) if due is not None else None

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        count, oldest = self.conn.execute(
            "SELECT count(*), min(due_at) FROM emails WHERE delivery = 'pending' AND due_at <= ?", (codec.ts(now),)
        ).fetchone()
        return count, datetime.fromtimestamp(oldest, UTC) if oldest is not None else None

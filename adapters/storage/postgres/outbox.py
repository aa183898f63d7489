"""The outbox on PostgreSQL: the lease machine.

Claims are `UPDATE ... RETURNING`: a racing claim on the same row waits for the first to commit,
re-reads the row and finds it no longer claimable. Batch claims use `FOR UPDATE SKIP LOCKED`, so
workers on many machines take disjoint sets of rows without waiting for each other. The attempt
number is the lease token: every claim increments it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import psycopg

from adapters.storage import codec
from adapters.storage.postgres.activity import engagement_arrays
from adapters.storage.postgres.database import Database
from adapters.storage.postgres.emails import CLAIMED, UPDATE_WITH_EVENTS, event_arrays, notice_arrays, to_claim
from autorelay_core.domain.emails import Email, Event
from autorelay_core.domain.webhooks import Notice
from autorelay_core.ports import Claim


class PostgresOutbox:
    """Outbox: claims, hand-overs, outcomes and the reconciler's sweep."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._sync: psycopg.Connection | None = None  # the hand-over's own connection (see handover)

    async def claim(self, email_id: str, now: datetime, lease_until: datetime, holder: str = "") -> Claim | None:
        row = await self.db.fetchone(
            "UPDATE emails m SET delivery = 'leased', lease_until = %s, attempts = attempts + 1, holder = %s"
            " WHERE id = %s AND ((delivery = 'pending' AND due_at <= %s)"
            " OR (delivery = 'leased' AND lease_until <= %s))"
            f" RETURNING {CLAIMED}",
            (lease_until, holder, email_id, now, now),
        )
        return to_claim(row, lease_until) if row else None

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int, holder: str = "") -> list[Claim]:
        rows = await self.db.fetchall(
            "WITH due AS (SELECT id, due_at FROM emails WHERE delivery = 'pending' AND due_at <= %s"
            " ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED)"
            " UPDATE emails m SET delivery = 'leased', lease_until = %s, attempts = m.attempts + 1, holder = %s"
            f" FROM due WHERE m.id = due.id RETURNING due.due_at, {CLAIMED}",
            (now, limit, lease_until, holder),
        )
        rows.sort(key=lambda r: r[0])  # RETURNING has no order of its own
        return [to_claim(r[1:], lease_until) for r in rows]

    async def finish(self, claim: Claim, email: Email, events: list[Event], notices: tuple[Notice, ...] = ()) -> bool:
        # The attempt number is the lease token: every claim increments it.
        row = await self.db.fetchone(
            UPDATE_WITH_EVENTS.format(
                set="delivery = 'done', lease_until = NULL, status = %s, payload = %s::jsonb, provider_id = %s",
                where="id = %s AND delivery IN ('leased', 'handover') AND attempts = %s",
            ),
            (
                email.status.value,
                codec.email_payload(email),
                email.provider_message_id,
                email.id,
                claim.attempt,
                *event_arrays(events),
                *notice_arrays(notices),
                *engagement_arrays(email, events),
            ),
        )
        return bool(row and row[0])

    async def handover(self, claim: Claim, then: Callable[[], None] | None = None) -> bool:
        # A blocking round trip, on purpose: `then` (the final "." of DATA) runs the instant the
        # commit is confirmed, with no turn of the event loop in between. Awaited, the answer would
        # wait behind whatever else the loop has ready (on a busy worker, milliseconds), and a
        # worker killed in that time loses the message it had recorded as handed over.
        try:
            conn = self._handover_connection()
            cursor = conn.execute(
                "UPDATE emails SET delivery = 'handover' WHERE id = %s AND delivery IN ('leased', 'handover')"
                " AND attempts = %s",
                (claim.email.id, claim.attempt),
            )
        except psycopg.OperationalError:
            self.close_handover_connection()  # a broken connection is opened afresh next time
            raise
        if cursor.rowcount == 1 and then is not None:
            then()
        return cursor.rowcount == 1

    def _handover_connection(self) -> psycopg.Connection:
        if self._sync is None or self._sync.closed:
            # Asynchronous commit on this connection only: the server answers without waiting for
            # its WAL flush, so the time a kill can fall between the record and the "." is one
            # round trip instead of a disk flush. Paid only if PostgreSQL itself crashes within a
            # fraction of a second: the record may be lost and the message sent once more (a
            # duplicate, never a loss).
            self._sync = psycopg.connect(self.db.url, autocommit=True)
            self._sync.execute("SET synchronous_commit = off")
        return self._sync

    def close_handover_connection(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    async def claim_handovers(self, now: datetime, lease_until: datetime, limit: int, holder: str = "") -> list[Claim]:
        rows = await self.db.fetchall(
            "WITH lost AS (SELECT id FROM emails WHERE delivery = 'handover' AND lease_until <= %s"
            " LIMIT %s FOR UPDATE SKIP LOCKED)"
            " UPDATE emails m SET lease_until = %s, attempts = m.attempts + 1, holder = %s"
            f" FROM lost WHERE m.id = lost.id RETURNING {CLAIMED}",
            (now, limit, lease_until, holder),
        )
        return [to_claim(r, lease_until) for r in rows]

    async def beat(self, holder: str, now: datetime) -> None:
        await self.db.rowcount(
            "INSERT INTO holders (holder, beat_at) VALUES (%s, %s)"
            " ON CONFLICT (holder) DO UPDATE SET beat_at = excluded.beat_at",
            (holder, now),
        )

    async def free_silent(self, now: datetime, silent_since: datetime) -> int:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE emails SET lease_until = %s WHERE lease_until > %s AND delivery IN ('leased', 'handover')"
                " AND holder IN (SELECT holder FROM holders WHERE beat_at < %s)",
                (now, now, silent_since),
            )
            freed = cursor.rowcount
            await conn.execute("DELETE FROM holders WHERE beat_at < %s", (now - timedelta(days=1),))
        return freed

    async def reopen(self, project_id: str, email_id: str, at: datetime) -> bool:
        updated = await self.db.rowcount(
            "UPDATE emails SET delivery = 'pending', lease_until = NULL, due_at = %s"
            " WHERE id = %s AND project_id = %s AND delivery = 'done' AND status = 'uncertain'",
            (at, email_id, project_id),
        )
        return updated == 1

    async def retry_later(self, claim: Claim, at: datetime, error: str, event: Event) -> bool:
        email = claim.email
        email.last_error = error
        row = await self.db.fetchone(
            UPDATE_WITH_EVENTS.format(
                set="delivery = 'pending', lease_until = NULL, due_at = %s, payload = %s::jsonb",
                where="id = %s AND delivery IN ('leased', 'handover') AND attempts = %s",
            ),
            (
                at,
                codec.email_payload(email),
                email.id,
                claim.attempt,
                *event_arrays([event]),
                *notice_arrays(()),
                *engagement_arrays(email, []),
            ),
        )
        return bool(row and row[0])

    async def postpone(self, claim: Claim, at: datetime) -> bool:
        # attempts - 1: the attempt is also the lease token, and this claim's token dies here.
        row = await self.db.fetchone(
            "UPDATE emails SET delivery = 'pending', lease_until = NULL, due_at = %s, attempts = attempts - 1"
            " WHERE id = %s AND delivery IN ('leased', 'handover') AND attempts = %s RETURNING 1",
            (at, claim.email.id, claim.attempt),
        )
        return row is not None

    async def stale(self, now: datetime, pending_before: datetime, limit: int) -> list[str]:
        rows = await self.db.fetchall(
            "WITH expired AS (SELECT id FROM emails WHERE delivery = 'leased' AND lease_until <= %s"
            " LIMIT %s FOR UPDATE SKIP LOCKED),"
            " taken AS (UPDATE emails m SET delivery = 'pending', lease_until = NULL, due_at = %s"
            " FROM expired WHERE m.id = expired.id RETURNING m.id)"
            " SELECT id FROM taken UNION ALL"
            " (SELECT id FROM emails WHERE delivery = 'pending' AND due_at <= %s ORDER BY due_at LIMIT %s)",
            (now, limit, now, pending_before, limit),
        )
        return [r[0] for r in rows]

    async def next_due(self) -> datetime | None:
        row = await self.db.fetchone("SELECT min(due_at) FROM emails WHERE delivery = 'pending'")
        return row[0] if row else None

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        row = await self.db.fetchone(
            "SELECT count(*), min(due_at) FROM emails WHERE delivery = 'pending' AND due_at <= %s", (now,)
        )
        return (row[0], row[1]) if row else (0, None)

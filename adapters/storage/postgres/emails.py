"""Emails and their outbox on PostgreSQL.

Claims are `UPDATE ... RETURNING`: a racing claim on the same row waits for the first to commit,
re-reads the row and finds it no longer claimable. Batch claims use `FOR UPDATE SKIP LOCKED`, so
workers on many machines take disjoint sets of rows without waiting for each other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import psycopg
from psycopg import errors

from adapters.storage import codec
from autorelay_core.domain.emails import Email, EmailStatus, Event, EventType
from autorelay_core.domain.reputation import Activity
from autorelay_core.domain.webhooks import Notice
from autorelay_core.errors import QuotaExceeded
from autorelay_core.policies.pagination import CursorPage, CursorRequest, Order
from autorelay_core.policies.quota import Charge, exceeded_message
from autorelay_core.ports import ANY_EMAIL, Claim, EmailFilter

if TYPE_CHECKING:
    from adapters.storage.postgres.store import Database

_CLAIMED = "payload, attempts"


def _claim(row: tuple, lease_until: datetime) -> Claim:
    payload, attempts = row
    return Claim(codec.email_from_data(payload), attempts, lease_until)


def _event_arrays(events: list[Event]) -> tuple[list[str], list[datetime], list[str]]:
    return [e.type.value for e in events], [e.created_at for e in events], [codec.event_data(e) for e in events]


def _notice_arrays(notices: tuple[Notice, ...]) -> tuple[list[str], list[str], list[str], list[datetime]]:
    return (
        [n.event_id for n in notices],
        [n.type for n in notices],
        [n.body for n in notices],
        [n.created_at for n in notices],
    )


# Update an email row and, only if that happened, add its events and one webhook delivery per
# subscribed active endpoint for each notice: one statement, one round trip. `{where}` narrows the
# update (a lease check); the count says whether the row was there.
_UPDATE_WITH_EVENTS = (
    "WITH updated AS (UPDATE emails SET {set} WHERE {where} RETURNING id, project_id),"
    " added AS (INSERT INTO email_events (email_id, type, created_at, data)"
    " SELECT updated.id, t, c, d FROM updated, unnest(%s::text[], %s::timestamptz[], %s::jsonb[]) AS e(t, c, d)),"
    " hooks AS (INSERT INTO webhook_deliveries (id, webhook_id, project_id, event_id, event_type, body,"
    " created_at, state, due_at) SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), w.id, w.project_id,"
    " n.i, n.t, n.b, n.c, 'pending', n.c FROM updated JOIN webhooks w ON w.project_id = updated.project_id"
    " AND w.active, unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[]) AS n(i, t, b, c)"
    " WHERE w.events ? n.t)"
    " SELECT count(*) FROM updated"
)
_QUOTA_REACHED = "AR001"


async def _charge(conn, project_id: str, charge: Charge, amount: int) -> None:
    cursor = await conn.execute(
        "INSERT INTO usage AS u (project_id, counter, period, count) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (project_id, counter, period) DO UPDATE SET count = u.count + EXCLUDED.count"
        " WHERE u.count + EXCLUDED.count <= %s RETURNING u.count",
        (project_id, charge.counter, charge.period, amount, charge.limit),
    )
    row = await cursor.fetchone()
    if row is None or row[0] > charge.limit:
        raise QuotaExceeded(exceeded_message(charge, amount))


class PostgresEmails:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._sync: psycopg.Connection | None = None  # the hand-over's own connection (see handover)

    async def add(self, email: Email, events: list[Event], charges: tuple[Charge, ...] = ()) -> None:
        try:
            await self.db.fetchone(
                "SELECT autorelay_add_email(%s, %s, %s, %s, %s::jsonb, %s, %s,"
                " %s::text[], %s::timestamptz[], %s::jsonb[], %s::text[], %s::text[], %s::integer[])",
                (
                    email.id,
                    email.project_id,
                    email.status.value,
                    email.test,
                    codec.email_payload(email),
                    email.created_at,
                    email.scheduled_at or email.created_at,
                    *_event_arrays(events),
                    [c.counter for c in charges],
                    [c.period for c in charges],
                    [c.limit for c in charges],
                ),
            )
        except errors.Error as error:
            if error.sqlstate != _QUOTA_REACHED:
                raise
            charge = charges[int(error.diag.message_detail or "1") - 1]
            raise QuotaExceeded(exceeded_message(charge)) from None

    async def add_many(self, emails: list[Email], events: list[Event], charges: tuple[Charge, ...] = ()) -> int:
        if not emails:
            return 0
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO emails (id, project_id, status, test, payload, created_at, delivery, due_at,"
                " campaign_id, contact_id) SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::boolean[],"
                " %s::jsonb[], %s::timestamptz[], %s::text[], %s::timestamptz[], %s::text[], %s::text[])"
                " ON CONFLICT DO NOTHING RETURNING id",
                (
                    [e.id for e in emails],
                    [e.project_id for e in emails],
                    [e.status.value for e in emails],
                    [e.test for e in emails],
                    [codec.email_payload(e) for e in emails],
                    [e.created_at for e in emails],
                    ["pending"] * len(emails),
                    [e.scheduled_at or e.created_at for e in emails],
                    [e.campaign_id for e in emails],
                    [e.contact_id for e in emails],
                ),
            )
            added = [r[0] for r in await cursor.fetchall()]
            if added and events:
                types, times, data = _event_arrays(events)
                await conn.execute(
                    "INSERT INTO email_events (email_id, type, created_at, data)"
                    " SELECT m.id, e.t, e.c, e.d FROM unnest(%s::text[]) AS m(id),"
                    " unnest(%s::text[], %s::timestamptz[], %s::jsonb[]) AS e(t, c, d)",
                    (added, types, times, data),
                )
            for charge in charges if added else ():
                await _charge(conn, emails[0].project_id, charge, len(added))  # raising rolls it all back
        return len(added)

    async def hold_campaign(self, campaign_id: str) -> int:
        return await self.db.rowcount(
            "UPDATE emails SET delivery = 'held' WHERE campaign_id = %s AND delivery = 'pending'", (campaign_id,)
        )

    async def release_campaign(self, campaign_id: str, now: datetime) -> int:
        # Shifted together so the pace between them is kept, the first due now.
        return await self.db.rowcount(
            "UPDATE emails SET delivery = 'pending', due_at = due_at + greatest(interval '0', %s - (SELECT min(due_at)"
            " FROM emails WHERE campaign_id = %s AND delivery = 'held'))"
            " WHERE campaign_id = %s AND delivery = 'held'",
            (now, campaign_id, campaign_id),
        )

    async def campaign_statuses(self, campaign_id: str) -> dict[EmailStatus, int]:
        rows = await self.db.fetchall(
            "SELECT status, count(*) FROM emails WHERE campaign_id = %s GROUP BY status", (campaign_id,)
        )
        return {EmailStatus(status): count for status, count in rows}

    async def usage(self, project_id: str, counter: str, period: str) -> int:
        row = await self.db.fetchone(
            "SELECT count FROM usage WHERE project_id = %s AND counter = %s AND period = %s",
            (project_id, counter, period),
        )
        return row[0] if row else 0

    async def get(self, project_id: str, email_id: str) -> Email | None:
        row = await self.db.fetchone(
            "SELECT payload FROM emails WHERE id = %s AND project_id = %s", (email_id, project_id)
        )
        return codec.email_from_data(row[0]) if row else None

    async def locate(self, email_id: str) -> Email | None:
        row = await self.db.fetchone("SELECT payload FROM emails WHERE id = %s", (email_id,))
        return codec.email_from_data(row[0]) if row else None

    async def by_provider_id(self, provider_message_id: str) -> Email | None:
        row = await self.db.fetchone(
            "SELECT payload FROM emails WHERE payload->>'provider_message_id' = %s", (provider_message_id,)
        )
        return codec.email_from_data(row[0]) if row else None

    async def events(self, email_id: str) -> list[Event]:
        rows = await self.db.fetchall(
            "SELECT type, created_at, data FROM email_events WHERE email_id = %s ORDER BY seq", (email_id,)
        )
        return [Event(EventType(t), c, d) for t, c, d in rows]

    async def page(self, project_id: str, cursor: CursorRequest, where: EmailFilter = ANY_EMAIL) -> CursorPage[Email]:
        sql, args = "project_id = %s", [project_id]
        if where.status is not None:
            sql += " AND status = %s"
            args.append(where.status.value)
        if where.test is not None:
            sql += " AND test = %s"
            args.append(where.test)
        if where.recipient is not None:
            sql += " AND lower(payload->'to'->>0) = %s"  # the expression of its index (migration 13)
            args.append(where.recipient.lower())
        if where.since is not None:
            sql += " AND created_at >= %s"
            args.append(where.since)
        if where.until is not None:
            sql += " AND created_at < %s"
            args.append(where.until)
        async with self.db.connection() as conn:
            total = await (await conn.execute(f"SELECT count(*) FROM emails WHERE {sql}", args)).fetchone()
            if cursor.after is not None:
                anchor = await (
                    await conn.execute(
                        "SELECT seq FROM emails WHERE id = %s AND project_id = %s", (cursor.after, project_id)
                    )
                ).fetchone()
                if anchor is None:
                    return CursorPage(items=[], total=total[0] if total else 0, has_more=False)
                sql += " AND seq < %s" if cursor.order is Order.DESC else " AND seq > %s"
                args.append(anchor[0])
            direction = "DESC" if cursor.order is Order.DESC else "ASC"
            rows = await (
                await conn.execute(
                    f"SELECT payload FROM emails WHERE {sql} ORDER BY seq {direction} LIMIT %s",
                    [*args, cursor.limit + 1],
                )
            ).fetchall()
        items = [codec.email_from_data(r[0]) for r in rows[: cursor.limit]]
        return CursorPage(items=items, total=total[0] if total else 0, has_more=len(rows) > cursor.limit)

    async def daily(self, project_id: str, since: datetime) -> list[tuple[str, str, int]]:
        rows = await self.db.fetchall(
            "SELECT to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), e.type, count(*) FROM email_events e"
            " JOIN emails m ON m.id = e.email_id WHERE e.created_at >= %s AND m.project_id = %s"
            " GROUP BY 1, 2 ORDER BY 1",
            (since, project_id),
        )
        return [(day, kind, count) for day, kind, count in rows]

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        row = await self.db.fetchone(
            "SELECT count(*), min(due_at) FROM emails WHERE delivery = 'pending' AND due_at <= %s", (now,)
        )
        return (row[0], row[1]) if row else (0, None)

    async def campaign_timeline(self, campaign_id: str) -> list[tuple[str, str, int]]:
        rows = await self.db.fetchall(
            "SELECT to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI'), e.type, count(*) FROM emails m"
            " JOIN email_events e ON e.email_id = m.id WHERE m.campaign_id = %s GROUP BY 1, 2 ORDER BY 1",
            (campaign_id,),
        )
        return [(minute, kind, count) for minute, kind, count in rows]

    async def campaign_links(self, campaign_id: str, limit: int) -> list[tuple[str, int]]:
        rows = await self.db.fetchall(
            "SELECT e.data->>'url', count(*) FROM emails m JOIN email_events e ON e.email_id = m.id"
            " WHERE m.campaign_id = %s AND e.type = 'clicked' AND e.data ? 'url'"
            " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s",
            (campaign_id, limit),
        )
        return [(url, count) for url, count in rows]

    async def activity(self, project_id: str, since: datetime) -> Activity:
        rows = await self.db.fetchall(
            "SELECT e.type, count(*) FROM email_events e JOIN emails m ON m.id = e.email_id"
            " WHERE e.type IN ('sent', 'bounced', 'complained') AND e.created_at >= %s"
            " AND m.project_id = %s AND NOT m.test GROUP BY e.type",
            (since, project_id),
        )
        counts = dict(rows)
        return Activity(counts.get("sent", 0), counts.get("bounced", 0), counts.get("complained", 0))

    async def record(
        self, email: Email, events: list[Event], notices: tuple[Notice, ...] = (), *, since: Email | None = None
    ) -> bool:
        where, args = "id = %s AND project_id = %s", [email.id, email.project_id]
        if since is not None:
            # Checked on the row version the update sees (after waiting for a concurrent writer).
            where += " AND status = %s AND (payload->>'opens')::int = %s AND (payload->>'clicks')::int = %s"
            args += [since.status.value, since.opens, since.clicks]
        row = await self.db.fetchone(
            _UPDATE_WITH_EVENTS.format(set="status = %s, payload = %s::jsonb", where=where),
            (
                email.status.value,
                codec.email_payload(email),
                *args,
                *_event_arrays(events),
                *_notice_arrays(notices),
            ),
        )
        return bool(row and row[0])

    async def claim(self, email_id: str, now: datetime, lease_until: datetime) -> Claim | None:
        row = await self.db.fetchone(
            "UPDATE emails SET delivery = 'leased', lease_until = %s, attempts = attempts + 1"
            " WHERE id = %s AND ((delivery = 'pending' AND due_at <= %s)"
            " OR (delivery = 'leased' AND lease_until <= %s))"
            f" RETURNING {_CLAIMED}",
            (lease_until, email_id, now, now),
        )
        return _claim(row, lease_until) if row else None

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Claim]:
        rows = await self.db.fetchall(
            "WITH due AS (SELECT id, due_at FROM emails WHERE delivery = 'pending' AND due_at <= %s"
            " ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED)"
            " UPDATE emails m SET delivery = 'leased', lease_until = %s, attempts = m.attempts + 1"
            f" FROM due WHERE m.id = due.id RETURNING due.due_at, m.{_CLAIMED.replace(', ', ', m.')}",
            (now, limit, lease_until),
        )
        rows.sort(key=lambda r: r[0])  # RETURNING has no order of its own
        return [_claim(r[1:], lease_until) for r in rows]

    async def finish(self, claim: Claim, email: Email, events: list[Event], notices: tuple[Notice, ...] = ()) -> bool:
        # The attempt number is the lease token: every claim increments it.
        row = await self.db.fetchone(
            _UPDATE_WITH_EVENTS.format(
                set="delivery = 'done', lease_until = NULL, status = %s, payload = %s::jsonb",
                where="id = %s AND delivery IN ('leased', 'handover') AND attempts = %s",
            ),
            (
                email.status.value,
                codec.email_payload(email),
                email.id,
                claim.attempt,
                *_event_arrays(events),
                *_notice_arrays(notices),
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

    async def claim_handovers(self, now: datetime, lease_until: datetime, limit: int) -> list[Claim]:
        rows = await self.db.fetchall(
            "WITH lost AS (SELECT id FROM emails WHERE delivery = 'handover' AND lease_until <= %s"
            " LIMIT %s FOR UPDATE SKIP LOCKED)"
            " UPDATE emails m SET lease_until = %s, attempts = m.attempts + 1"
            f" FROM lost WHERE m.id = lost.id RETURNING m.{_CLAIMED.replace(', ', ', m.')}",
            (now, limit, lease_until),
        )
        return [_claim(r, lease_until) for r in rows]

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
            _UPDATE_WITH_EVENTS.format(
                set="delivery = 'pending', lease_until = NULL, due_at = %s, payload = %s::jsonb",
                where="id = %s AND delivery IN ('leased', 'handover') AND attempts = %s",
            ),
            (at, codec.email_payload(email), email.id, claim.attempt, *_event_arrays([event]), *_notice_arrays(())),
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
            "WITH waiting AS (SELECT id FROM emails WHERE delivery = 'pending' AND due_at <= %s"
            " LIMIT %s FOR UPDATE SKIP LOCKED),"
            " expired AS (SELECT id FROM emails WHERE delivery = 'leased' AND lease_until <= %s"
            " LIMIT %s FOR UPDATE SKIP LOCKED),"
            " lost AS (SELECT id FROM waiting UNION ALL SELECT id FROM expired LIMIT %s)"
            " UPDATE emails m SET delivery = 'pending', lease_until = NULL, due_at = %s"
            " FROM lost WHERE m.id = lost.id RETURNING m.id",
            (pending_before, limit, now, limit, limit, now),
        )
        return [r[0] for r in rows]

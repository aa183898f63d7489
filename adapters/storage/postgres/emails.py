"""The email record on PostgreSQL: what was sent and what happened to it.

The quota charge is written once for this backend, in PL/pgSQL (`autorelay_charge`, schema.py), and
the webhook fan-out once, in `UPDATE_WITH_EVENTS` below; every write that needs them runs them in
its own statement or transaction."""

from __future__ import annotations

from datetime import datetime

from psycopg import errors

from adapters.batching import Batcher
from adapters.storage import codec
from adapters.storage.postgres.activity import engagement_arrays
from adapters.storage.postgres.database import Database
from autorelay_core.domain import search
from autorelay_core.domain.emails import Email, Event, EventType
from autorelay_core.domain.webhooks import Notice
from autorelay_core.errors import QuotaExceeded
from autorelay_core.policies.pagination import CursorPage, CursorRequest, Order
from autorelay_core.policies.quota import Charge, exceeded_message
from autorelay_core.ports import ANY_EMAIL, SEARCH_COUNTED, Claim, EmailFilter

# An email as stored: its record and its content (kept in email_content under the email's seq).
EMAIL_ROW = "payload, (SELECT content FROM email_content c WHERE c.seq = emails.seq)"
CLAIMED = "m.payload, (SELECT content FROM email_content c WHERE c.seq = m.seq), m.attempts"


def to_claim(row: tuple, lease_until: datetime) -> Claim:
    record, content, attempts = row
    return Claim(codec.email_from_parts(record, content), attempts, lease_until)


def event_arrays(events: list[Event]) -> tuple[list[str], list[datetime], list[str]]:
    return [e.type.value for e in events], [e.created_at for e in events], [codec.event_data(e) for e in events]


def notice_arrays(notices: tuple[Notice, ...]) -> tuple[list[str], list[str], list[str], list[datetime]]:
    return (
        [n.event_id for n in notices],
        [n.type for n in notices],
        [n.body for n in notices],
        [n.created_at for n in notices],
    )


# Update an email row and, only if that happened, add its events, one webhook delivery per
# subscribed active endpoint for each notice and a campaign email's engagement as its contact's
# events: one statement, one round trip. `{where}` narrows the
# update (a lease check); the count says whether the row was there.
UPDATE_WITH_EVENTS = (
    "WITH updated AS (UPDATE emails SET {set} WHERE {where} RETURNING id, project_id, test),"
    " added AS (INSERT INTO email_events (email_id, type, created_at, data)"
    " SELECT updated.id, t, c, d FROM updated, unnest(%s::text[], %s::timestamptz[], %s::jsonb[]) AS e(t, c, d)),"
    " hooks AS (INSERT INTO webhook_deliveries (id, webhook_id, project_id, event_id, event_type, body,"
    " created_at, state, due_at) SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), w.id, w.project_id,"
    " n.i, n.t, n.b, n.c, 'pending', n.c FROM updated JOIN webhooks w ON w.project_id = updated.project_id"
    " AND w.active AND (NOT w.test OR updated.test),"
    " unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[]) AS n(i, t, b, c)"
    " WHERE w.events ? n.t),"
    " activity AS (INSERT INTO contact_events (id, project_id, email_key, name, occurred_at, campaign_id, email_id)"
    " SELECT a.i, updated.project_id, a.k, a.n, a.o, a.c, updated.id FROM updated,"
    " unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::text[]) AS a(i, k, n, o, c))"
    " SELECT count(*) FROM updated"
)
_QUOTA_REACHED = "AR001"
Added = tuple[Email, list[Event], tuple[Charge, ...]]
# One email, its first events and its quota charges (schema.py's function).
ADD_EMAIL = (
    "SELECT autorelay_add_email(%s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s,"
    " %s::text[], %s::timestamptz[], %s::jsonb[], %s::text[], %s::text[], %s::integer[])"
)


ADD_EMAILS = (
    "SELECT autorelay_add_emails(%s::text[], %s::text[], %s::text[], %s::boolean[], %s::jsonb[],"
    " %s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[],"
    " %s::text[], %s::text[], %s::timestamptz[], %s::jsonb[],"
    " %s::text[], %s::text[], %s::text[], %s::integer[], %s::integer[])"
)


def add_emails_values(batch: list[Added]) -> tuple:
    """Several emails, their first events and their charges (summed per counter), for ADD_EMAILS:
    one statement. A charge over its limit raises, and nothing of the batch is stored."""
    events = [(email.id, event) for email, added, _ in batch for event in added]
    charged: dict[tuple[str, str, str, int], int] = {}
    for email, _, charges in batch:
        for c in charges:
            key = (email.project_id, c.counter, c.period, c.limit)
            charged[key] = charged.get(key, 0) + 1
    emails = [email for email, _, _ in batch]
    return (
        [e.id for e in emails],
        [e.project_id for e in emails],
        [e.status.value for e in emails],
        [e.test for e in emails],
        [codec.email_payload(e) for e in emails],
        [codec.email_content(e) for e in emails],
        [codec.search_words(e) for e in emails],
        [codec.first_to(e) for e in emails],
        [e.created_at for e in emails],
        [e.scheduled_at or e.created_at for e in emails],
        [email_id for email_id, _ in events],
        *event_arrays([event for _, event in events]),
        [project for project, _, _, _ in charged],
        [counter for _, counter, _, _ in charged],
        [period for _, _, period, _ in charged],
        [limit for _, _, _, limit in charged],
        list(charged.values()),
    )


def add_email_values(email: Email, events: list[Event], charges: tuple[Charge, ...]) -> tuple:
    return (
        email.id,
        email.project_id,
        email.status.value,
        email.test,
        codec.email_payload(email),
        codec.email_content(email),
        codec.search_words(email),
        codec.first_to(email),
        email.created_at,
        email.scheduled_at or email.created_at,
        *event_arrays(events),
        *_charge_arrays(charges),
    )


def _charge_arrays(charges: tuple[Charge, ...]) -> tuple[list[str], list[str], list[int]]:
    return [c.counter for c in charges], [c.period for c in charges], [c.limit for c in charges]


def quota_error(error: errors.Error, charges: tuple[Charge, ...], amount: int) -> Exception:
    """QuotaExceeded for the charge `autorelay_charge` named (DETAIL: its 1-based index); any other
    database error as it was."""
    if error.sqlstate != _QUOTA_REACHED:
        return error
    charge = charges[int(error.diag.message_detail or "1") - 1]
    return QuotaExceeded(exceeded_message(charge, amount))


def _tsquery(terms: list[list[str]]) -> str:
    """A tsquery for search.terms: each a phrase (<->) whose last word is a prefix (:*), all of
    them required (&). The words hold letters and digits only: no operator can slip in."""
    return " & ".join(" <-> ".join([*term[:-1], f"{term[-1]}:*"]) for term in terms)


class PostgresEmails:
    """EmailRepository: the record, its events, and the writes that start and end it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Sends that arrive together are stored together (adapters/batching.py): one statement and one commit.
        self._adds: Batcher[Added, None] = Batcher(self._add_one, self._add_many)

    async def add(self, email: Email, events: list[Event], charges: tuple[Charge, ...] = ()) -> None:
        await self._adds.run((email, events, charges))

    async def _add_many(self, batch: list[Added]) -> list[None]:
        await self.db.fetchone(ADD_EMAILS, add_emails_values(batch))
        return [None] * len(batch)

    async def _add_one(self, added: Added) -> None:
        email, events, charges = added
        try:
            await self.db.fetchone(ADD_EMAIL, add_email_values(email, events, charges))
        except errors.Error as error:
            raise quota_error(error, charges, 1) from None

    async def add_many(self, emails: list[Email], events: list[Event], charges: tuple[Charge, ...] = ()) -> int:
        if not emails:
            return 0
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO emails (id, project_id, status, test, payload, created_at, delivery, due_at,"
                " campaign_id, contact_id, first_to) SELECT * FROM unnest(%s::text[], %s::text[], %s::text[],"
                " %s::boolean[], %s::jsonb[], %s::timestamptz[], %s::text[], %s::timestamptz[], %s::text[],"
                " %s::text[], %s::text[])"
                " ON CONFLICT DO NOTHING RETURNING id, seq",
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
                    [codec.first_to(e) for e in emails],
                ),
            )
            stored = await cursor.fetchall()
            added = [r[0] for r in stored]
            if stored:
                content = {e.id: e for e in emails}
                await conn.execute(
                    "INSERT INTO email_content (seq, content, words) SELECT s, c, to_tsvector('simple', w)"
                    " FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS n(s, c, w)",
                    (
                        [seq for _, seq in stored],
                        [codec.email_content(content[i]) for i, _ in stored],
                        [codec.search_words(content[i]) for i, _ in stored],
                    ),
                )
            if added and events:
                types, times, data = event_arrays(events)
                await conn.execute(
                    "INSERT INTO email_events (email_id, type, created_at, data)"
                    " SELECT m.id, e.t, e.c, e.d FROM unnest(%s::text[]) AS m(id),"
                    " unnest(%s::text[], %s::timestamptz[], %s::jsonb[]) AS e(t, c, d)",
                    (added, types, times, data),
                )
            if added and charges:
                try:  # raising rolls it all back
                    await conn.execute(
                        "SELECT autorelay_charge(%s, %s::text[], %s::text[], %s::integer[], %s)",
                        (emails[0].project_id, *_charge_arrays(charges), len(added)),
                    )
                except errors.Error as error:
                    raise quota_error(error, charges, len(added)) from None
        return len(added)

    async def get(self, project_id: str, email_id: str) -> Email | None:
        row = await self.db.fetchone(
            f"SELECT {EMAIL_ROW} FROM emails WHERE id = %s AND project_id = %s", (email_id, project_id)
        )
        return codec.email_from_parts(*row) if row else None

    async def locate(self, email_id: str) -> Email | None:
        row = await self.db.fetchone(f"SELECT {EMAIL_ROW} FROM emails WHERE id = %s", (email_id,))
        return codec.email_from_parts(*row) if row else None

    async def by_provider_id(self, provider_message_id: str) -> Email | None:
        row = await self.db.fetchone(f"SELECT {EMAIL_ROW} FROM emails WHERE provider_id = %s", (provider_message_id,))
        return codec.email_from_parts(*row) if row else None

    async def events(self, email_id: str) -> list[Event]:
        rows = await self.db.fetchall(
            "SELECT type, created_at, data FROM email_events WHERE email_id = %s ORDER BY seq", (email_id,)
        )
        return [Event(EventType(t), c, d) for t, c, d in rows]

    async def page(self, project_id: str, cursor: CursorRequest, where: EmailFilter = ANY_EMAIL) -> CursorPage[Email]:
        sql, args = "project_id = %s", list[object]([project_id])
        if where.status is not None:
            sql += " AND status = %s"
            args.append(where.status.value)
        if where.test is not None:
            sql += " AND test = %s"
            args.append(where.test)
        if where.recipient is not None:
            sql += " AND first_to = %s"
            args.append(where.recipient.lower())
        if where.since is not None:
            sql += " AND created_at >= %s"
            args.append(where.since)
        if where.until is not None:
            sql += " AND created_at < %s"
            args.append(where.until)
        counted = "SELECT count(*) FROM emails WHERE {sql}"
        if wanted := search.terms(where.words or ""):
            # A semi-join the planner may run either way: from the GIN index for a rare word, or
            # down the log's own order, stopping at the page's last row, for a word most emails hold.
            sql += " AND EXISTS (SELECT 1 FROM email_content c WHERE c.seq = emails.seq"
            sql += " AND c.words @@ to_tsquery('simple', %s))"
            args.append(_tsquery(wanted))
            counted = f"SELECT count(*) FROM (SELECT 1 FROM emails WHERE {{sql}} LIMIT {SEARCH_COUNTED + 1}) AS found"
        async with self.db.connection() as conn:
            total = await (await conn.execute(counted.format(sql=sql), args)).fetchone()
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
                    f"SELECT {EMAIL_ROW} FROM emails WHERE {sql} ORDER BY seq {direction} LIMIT %s",
                    [*args, cursor.limit + 1],
                )
            ).fetchall()
        items = [codec.email_from_parts(*r) for r in rows[: cursor.limit]]
        return CursorPage(items=items, total=total[0] if total else 0, has_more=len(rows) > cursor.limit)

    async def record(
        self, email: Email, events: list[Event], notices: tuple[Notice, ...] = (), *, since: Email | None = None
    ) -> bool:
        where, args = "id = %s AND project_id = %s", list[object]([email.id, email.project_id])
        if since is not None:
            # Checked on the row version the update sees (after waiting for a concurrent writer).
            where += " AND status = %s AND (payload->>'opens')::int = %s AND (payload->>'clicks')::int = %s"
            args += [since.status.value, since.opens, since.clicks]
        row = await self.db.fetchone(
            UPDATE_WITH_EVENTS.format(set="status = %s, payload = %s::jsonb, provider_id = %s", where=where),
            (
                email.status.value,
                codec.email_payload(email),
                email.provider_message_id,
                *args,
                *event_arrays(events),
                *notice_arrays(notices),
                *engagement_arrays(email, events),
            ),
        )
        return bool(row and row[0])


class PostgresQuota:
    """QuotaUsage: what the quota charge has counted."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def usage(self, project_id: str, counter: str, period: str) -> int:
        row = await self.db.fetchone(
            "SELECT count FROM usage WHERE project_id = %s AND counter = %s AND period = %s",
            (project_id, counter, period),
        )
        return row[0] if row else 0

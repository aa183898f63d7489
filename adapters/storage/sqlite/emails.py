"""The email record on SQLite: what was sent and what happened to it.

The quota charge and the webhook fan-out are each written once for this backend (`charge_quota` here,
`fan_out` in webhooks.py) and run inside the write that needs them."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

import sqlite_utils

from adapters.storage import codec
from adapters.storage.sqlite.activity import add_engagement
from adapters.storage.sqlite.batch import GroupCommit
from adapters.storage.sqlite.tables import Tables
from adapters.storage.sqlite.webhooks import fan_out
from autorelay_core.domain import search
from autorelay_core.domain.emails import Delivery, Email, Event, EventType
from autorelay_core.domain.webhooks import Notice
from autorelay_core.errors import QuotaExceeded
from autorelay_core.policies.pagination import CursorPage, CursorRequest, Order
from autorelay_core.policies.quota import Charge, exceeded_message
from autorelay_core.ports import ANY_EMAIL, SEARCH_COUNTED, EmailFilter

# An email as stored: its record and its content (kept in email_content under the email's seq).
EMAIL_ROW = "payload, (SELECT content FROM email_content WHERE email_content.seq = emails.seq)"
_INSERT_CONTENT = "INSERT INTO email_content (seq, content) VALUES (last_insert_rowid(), ?)"
_INSERT_WORDS = "INSERT INTO email_words (rowid, words) VALUES (last_insert_rowid(), ?)"  # the same seq
_INSERT_EMAIL = (
    "INSERT INTO emails (id, project_id, status, test, payload, created_at, delivery, due_at, campaign_id, contact_id,"
    " first_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _outbox_row(email: Email) -> tuple:
    return (
        email.id,
        email.project_id,
        email.status.value,
        int(email.test),
        codec.email_payload(email),
        email.created_at.isoformat(),
        Delivery.PENDING.value,
        codec.ts(email.scheduled_at or email.created_at),
        email.campaign_id,
        email.contact_id,
        codec.first_to(email),
    )


def insert_email(conn: sqlite3.Connection, email: Email, *, or_skip: bool = False) -> bool:
    """Insert the email's record and content; False when `or_skip` and its id is already stored."""
    if not conn.execute(_INSERT_EMAIL + (" ON CONFLICT DO NOTHING" if or_skip else ""), _outbox_row(email)).rowcount:
        return False
    conn.execute(_INSERT_CONTENT, (codec.email_content(email),))
    conn.execute(_INSERT_WORDS, (codec.search_words(email),))
    return True


def add_events(conn: sqlite3.Connection, email_id: str, events: list[Event]) -> None:
    conn.executemany(
        "INSERT INTO email_events (email_id, type, created_at, data) VALUES (?, ?, ?, ?)",
        [(email_id, e.type.value, e.created_at.isoformat(), codec.event_data(e)) for e in events],
    )


def charge_quota(conn: sqlite3.Connection, project_id: str, charge: Charge, amount: int = 1) -> None:
    key = (project_id, charge.counter, charge.period)
    conn.execute("INSERT INTO usage VALUES (?, ?, ?, 0) ON CONFLICT DO NOTHING", key)
    cursor = conn.execute(
        "UPDATE usage SET count = count + ? WHERE project_id = ? AND counter = ? AND period = ? AND count + ? <= ?",
        (amount, *key, amount, charge.limit),
    )
    if cursor.rowcount != 1:
        raise QuotaExceeded(exceeded_message(charge, amount))  # the savepoint undoes this send's writes


def update_with_events(
    conn: sqlite3.Connection, update: str, values: tuple, email: Email, events: list[Event], notices: tuple[Notice, ...]
) -> bool:
    """Run `update` on the email's row and, only if it changed that row, add its events and fan its
    notices out to webhook deliveries and a campaign email's engagement to its contact's events, in
    the caller's transaction (record, finish)."""
    if conn.execute(update, values).rowcount != 1:
        return False
    add_events(conn, email.id, events)
    fan_out(conn, email.project_id, notices)
    add_engagement(conn, email, events)
    return True


def _match(terms: list[list[str]]) -> str:
    """An FTS5 query for search.terms: each a quoted phrase whose last word is a prefix, all of
    them required. The words hold letters and digits only, so quoting cannot be escaped."""
    return " AND ".join(f'"{" ".join(term)}"*' for term in terms)


class SqliteEmails(Tables):
    """EmailRepository: the record, its events, and the writes that start and end it."""

    def __init__(self, db: sqlite_utils.Database, group: GroupCommit) -> None:
        super().__init__(db)
        self._group = group

    async def add(self, email: Email, events: list[Event], charges: tuple[Charge, ...] = ()) -> None:
        def write(conn: sqlite3.Connection) -> None:
            for charge in charges:
                charge_quota(conn, email.project_id, charge)
            insert_email(conn, email)
            add_events(conn, email.id, events)

        await self._group.run(write)

    async def add_many(self, emails: list[Email], events: list[Event], charges: tuple[Charge, ...] = ()) -> int:
        added = 0
        async with self.tx() as conn:
            for email in emails:
                if insert_email(conn, email, or_skip=True):
                    add_events(conn, email.id, events)
                    added += 1
            for charge in charges if added else ():
                charge_quota(conn, emails[0].project_id, charge, added)  # raising rolls it all back
        return added

    async def get(self, project_id: str, email_id: str) -> Email | None:
        row = self.conn.execute(
            f"SELECT {EMAIL_ROW} FROM emails WHERE id = ? AND project_id = ?", (email_id, project_id)
        ).fetchone()
        return codec.email_from_parts(*row) if row else None

    async def locate(self, email_id: str) -> Email | None:
        row = self.conn.execute(f"SELECT {EMAIL_ROW} FROM emails WHERE id = ?", (email_id,)).fetchone()
        return codec.email_from_parts(*row) if row else None

    async def by_provider_id(self, provider_message_id: str) -> Email | None:
        row = self.conn.execute(
            f"SELECT {EMAIL_ROW} FROM emails WHERE provider_id = ?",
            (provider_message_id,),
        ).fetchone()
        return codec.email_from_parts(*row) if row else None

    async def events(self, email_id: str) -> list[Event]:
        rows = self.conn.execute(
            "SELECT type, created_at, data FROM email_events WHERE email_id = ? ORDER BY seq", (email_id,)
        )
        return [Event(EventType(t), datetime.fromisoformat(c), json.loads(d)) for t, c, d in rows]

    async def page(self, project_id: str, cursor: CursorRequest, where: EmailFilter = ANY_EMAIL) -> CursorPage[Email]:
        sql, args = "project_id = ?", list[str | int]([project_id])
        if where.status is not None:
            sql += " AND status = ?"
            args.append(where.status.value)
        if where.test is not None:
            sql += " AND test = ?"
            args.append(int(where.test))
        if where.recipient is not None:
            sql += " AND first_to = ?"
            args.append(where.recipient.lower())
        # Dates become a range of seq (emails are stored in time order), found through an index.
        if where.since is not None:
            sql += " AND seq >= coalesce((SELECT min(seq) FROM emails WHERE project_id = ? AND created_at >= ?), 1e18)"
            args += [project_id, where.since.isoformat()]
        if where.until is not None:
            sql += " AND seq <= coalesce((SELECT max(seq) FROM emails WHERE project_id = ? AND created_at < ?), -1)"
            args += [project_id, where.until.isoformat()]
        source, order = "emails", "seq"
        if wanted := search.terms(where.words or ""):
            # The index's matches, read in seq order and joined to their emails (CROSS JOIN keeps the
            # index outside: inside, the whole search would run again for every email): a page of
            # a search that matches most emails stops at its last row instead of collecting all.
            source, order = "email_words CROSS JOIN emails ON emails.seq = email_words.rowid", "email_words.rowid"
            sql += " AND email_words MATCH ?"
            args.append(_match(wanted))
            counted = f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {sql} LIMIT {SEARCH_COUNTED + 1})"
        else:
            counted = f"SELECT count(*) FROM emails WHERE {sql}"
        (total,) = self.conn.execute(counted, args).fetchone()
        descending = cursor.order is Order.DESC
        if cursor.after is not None:
            anchor = self.conn.execute(
                "SELECT seq FROM emails WHERE id = ? AND project_id = ?", (cursor.after, project_id)
            ).fetchone()
            if anchor is None:
                return CursorPage(items=[], total=total, has_more=False)
            sql += f" AND {order} < ?" if descending else f" AND {order} > ?"
            args.append(anchor[0])
        rows = self.conn.execute(
            f"SELECT {EMAIL_ROW} FROM {source} WHERE {sql} ORDER BY {order} {'DESC' if descending else 'ASC'} LIMIT ?",
            [*args, cursor.limit + 1],
        ).fetchall()
        items = [codec.email_from_parts(*r) for r in rows[: cursor.limit]]
        return CursorPage(items=items, total=total, has_more=len(rows) > cursor.limit)

    async def record(
        self, email: Email, events: list[Event], notices: tuple[Notice, ...] = (), *, since: Email | None = None
    ) -> bool:
        where, args = "id = ? AND project_id = ?", list[str | int]([email.id, email.project_id])
        if since is not None:
            where += (
                " AND status = ? AND json_extract(payload, '$.opens') = ? AND json_extract(payload, '$.clicks') = ?"
            )
            args += [since.status.value, since.opens, since.clicks]

        update = f"UPDATE emails SET status = ?, payload = ?, provider_id = ? WHERE {where}"
        values = (email.status.value, codec.email_payload(email), email.provider_message_id, *args)
        return await self._group.run(lambda conn: update_with_events(conn, update, values, email, events, notices))


class SqliteQuota(Tables):
    """QuotaUsage: what `charge_quota` has counted."""

    async def usage(self, project_id: str, counter: str, period: str) -> int:
        row = self.conn.execute(
            "SELECT count FROM usage WHERE project_id = ? AND counter = ? AND period = ?", (project_id, counter, period)
        ).fetchone()
        return row[0] if row else 0

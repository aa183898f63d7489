"""SQLite storage through sqlite-utils: WAL, one connection per process, schema migrated on open.

Queries are short and indexed, so they run inline on the event loop; a separate thread would cost
more than the query. Writes that must be atomic run in BEGIN IMMEDIATE transactions, which also
makes claims safe between several processes sharing one database file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from adapters.storage import codec
from adapters.storage.sqlite.assets import SqliteAssets
from adapters.storage.sqlite.batch import BUSY_WAIT_MS, GroupCommit, begin, locked_out
from adapters.storage.sqlite.campaigns import SqliteCampaigns
from adapters.storage.sqlite.contacts import SqliteContacts, SqliteLists, SqliteOtp, SqliteSuppressions
from adapters.storage.sqlite.imports import SqliteImports
from adapters.storage.sqlite.pacing import SqlitePacing
from adapters.storage.sqlite.schema import migrate
from adapters.storage.sqlite.users import SqliteUsers
from adapters.storage.sqlite.webhooks import SqliteWebhooks, fan_out
from autorelay_core.domain.domains import Domain, DomainStatus
from autorelay_core.domain.emails import Delivery, Email, EmailStatus, Event, EventType
from autorelay_core.domain.keys import ApiKey, KeyMode
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.domain.reputation import Activity
from autorelay_core.domain.templates import KEPT_VERSIONS, Template, TemplateVersion
from autorelay_core.domain.webhooks import Notice
from autorelay_core.errors import Conflict, QuotaExceeded
from autorelay_core.policies.idempotency import IN_FLIGHT_LEASE, RETENTION, Existing, StoredResponse
from autorelay_core.policies.pagination import CursorPage, CursorRequest, Order
from autorelay_core.policies.quota import Charge, exceeded_message
from autorelay_core.policies.rate_limit import Admission, Limit
from autorelay_core.ports import ANY_EMAIL, Claim, EmailFilter


class _Connection(sqlite3.Connection):
    """Statements run on the event loop, so a lock held by another process (a backup, a shell, a
    long import in a worker) must not hold the loop: the busy wait is short (BUSY_WAIT_MS), and a
    statement still locked out after it raises Unavailable (503 with Retry-After) instead of
    sqlite3's OperationalError. Group commits retry without blocking (sqlite_batch)."""

    def execute(self, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        try:
            return super().execute(*args)
        except sqlite3.OperationalError as error:
            raise locked_out(error) from error

    def executemany(self, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        try:
            return super().executemany(*args)
        except sqlite3.OperationalError as error:
            raise locked_out(error) from error


def open_database(path: str | Path) -> sqlite_utils.Database:
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_WAIT_MS / 1000, factory=_Connection
    )
    db = sqlite_utils.Database(conn)
    db.enable_wal()
    # NORMAL is durable across application crashes in WAL mode; only a power cut can lose the
    # last transactions, which is the trade every embedded default makes.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    # Page through big lists from memory: a 32 MB page cache, and reads through mmap instead of a
    # read() call per page (counting 100,000 contacts goes from ~25 ms to ~5 ms).
    conn.execute("PRAGMA cache_size = -32000")
    conn.execute("PRAGMA mmap_size = 268435456")
    # Sorts and IN-lists of statements (an outbox claim's subquery, say) in memory: on disk, each
    # one created, wrote and deleted a file in /var/tmp, which was half the write calls of a send.
    conn.execute("PRAGMA temp_store = MEMORY")
    # Checkpoints (which fsync) run on a background thread instead of inside some request's COMMIT.
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
    # Processes starting together take turns migrating: at start, waiting for the lock is right.
    conn.execute("PRAGMA busy_timeout = 10000")
    migrate(conn)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_WAIT_MS}")
    return db


# The WAL's size past which checkpoints make room by starting it over (see Checkpointer).
WAL_LIMIT = 64 * 1024 * 1024


class Checkpointer:
    """Copies the WAL back into the database file every `interval` seconds from its own thread and
    connection, so the event loop never waits for an fsync.

    A passive checkpoint never holds anyone up, but under steady writes it never copies the newest
    frames either, and SQLite starts the WAL over only once every frame is copied: a 10,000-message
    campaign left a 750 MB WAL, growing for as long as the writes went on. So once the WAL passes
    `limit` bytes, a RESTART checkpoint follows the passive one. It holds new writers back while it
    copies what came since (the passive one did the bulk) and syncs, and the next write starts the
    WAL over (cut back to `limit` bytes: journal_size_limit). It gives up after `wait` seconds (a
    long read in progress), letting writers go on; the next round tries again."""

    def __init__(self, path: str | Path, interval: float = 0.5, limit: int = WAL_LIMIT, wait: float = 0.05) -> None:
        self._path, self._interval, self._limit, self._wait = str(path), interval, limit, wait
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=self._wait)
        conn.execute(f"PRAGMA journal_size_limit = {int(self._limit)}")
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        try:
            while not self._stop.wait(self._interval):
                try:
                    _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if frames * page_size > self._limit:
                        conn.execute("PRAGMA wal_checkpoint(RESTART)")
                except sqlite3.OperationalError:
                    continue  # busy: the next round catches up
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


class _Tables:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.conn: sqlite3.Connection = db.conn

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[sqlite3.Connection]:
        """A write transaction; waits for another process's lock without blocking the loop. The
        body must not await: the connection is shared by every task of the process."""
        await begin(self.conn)
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")


def _project(row: sqlite3.Row | tuple) -> Project:
    pid, name, status, reason, created, opens, clicks, resend, resend_campaigns = row
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
    )


class SqliteProjects(_Tables):
    _COLUMNS = (
        "id, name, status, status_reason, created_at, track_opens, track_clicks,"
        " resend_uncertain_transactional, resend_uncertain_campaigns"
    )

    async def add(self, project: Project) -> None:
        try:
            self.db["projects"].insert(
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


class SqliteKeys(_Tables):
    _COLUMNS = "id, project_id, name, mode, key_hash, last4, scopes, created_at, revoked_at, last_used_at"

    async def add(self, key: ApiKey) -> None:
        self.db["api_keys"].insert(
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
        self.conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (at.isoformat(), key_id))


# The first recipient, as the recipient filter's index has it (sqlite_schema migration 14).
_FIRST_TO = "lower(json_extract(payload, '$.to[0]'))"

_INSERT_EMAIL = (
    "INSERT INTO emails (id, project_id, status, test, payload, created_at, delivery, due_at, campaign_id, contact_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
    )


class SqliteEmails(_Tables):
    def __init__(self, db: sqlite_utils.Database, group: GroupCommit) -> None:
        super().__init__(db)
        self._group = group

    async def add(self, email: Email, events: list[Event], charges: tuple[Charge, ...] = ()) -> None:
        row = _outbox_row(email)

        def write(conn: sqlite3.Connection) -> None:
            for charge in charges:
                self._charge(conn, email.project_id, charge)
            conn.execute(_INSERT_EMAIL, row)
            self._add_events(conn, email.id, events)

        await self._group.run(write)

    async def add_many(self, emails: list[Email], events: list[Event], charges: tuple[Charge, ...] = ()) -> int:
        added = 0
        async with self.tx() as conn:
            for email in emails:
                if conn.execute(_INSERT_EMAIL + " ON CONFLICT DO NOTHING", _outbox_row(email)).rowcount:
                    self._add_events(conn, email.id, events)
                    added += 1
            for charge in charges if added else ():
                self._charge(conn, emails[0].project_id, charge, added)  # raising rolls it all back
        return added

    async def hold_campaign(self, campaign_id: str) -> int:
        async with self.tx() as conn:
            return conn.execute(
                "UPDATE emails SET delivery = 'held' WHERE campaign_id = ? AND delivery = 'pending'", (campaign_id,)
            ).rowcount

    async def release_campaign(self, campaign_id: str, now: datetime) -> int:
        # Shifted together so the pace between them is kept, the first due now.
        async with self.tx() as conn:
            return conn.execute(
                "UPDATE emails SET delivery = 'pending', due_at = due_at + max(0, ? - (SELECT min(due_at)"
                " FROM emails WHERE campaign_id = ? AND delivery = 'held'))"
                " WHERE campaign_id = ? AND delivery = 'held'",
                (codec.ts(now), campaign_id, campaign_id),
            ).rowcount

    async def campaign_statuses(self, campaign_id: str) -> dict[EmailStatus, int]:
        rows = self.conn.execute(
            "SELECT status, count(*) FROM emails WHERE campaign_id = ? GROUP BY status", (campaign_id,)
        )
        return {EmailStatus(status): count for status, count in rows}

    @staticmethod
    def _charge(conn: sqlite3.Connection, project_id: str, charge: Charge, amount: int = 1) -> None:
        key = (project_id, charge.counter, charge.period)
        conn.execute("INSERT INTO usage VALUES (?, ?, ?, 0) ON CONFLICT DO NOTHING", key)
        cursor = conn.execute(
            "UPDATE usage SET count = count + ? WHERE project_id = ? AND counter = ? AND period = ? AND count + ? <= ?",
            (amount, *key, amount, charge.limit),
        )
        if cursor.rowcount != 1:
            raise QuotaExceeded(exceeded_message(charge, amount))  # the savepoint undoes this send's writes

    async def usage(self, project_id: str, counter: str, period: str) -> int:
        row = self.conn.execute(
            "SELECT count FROM usage WHERE project_id = ? AND counter = ? AND period = ?", (project_id, counter, period)
        ).fetchone()
        return row[0] if row else 0

    @staticmethod
    def _add_events(conn: sqlite3.Connection, email_id: str, events: list[Event]) -> None:
        conn.executemany(
            "INSERT INTO email_events (email_id, type, created_at, data) VALUES (?, ?, ?, ?)",
            [(email_id, e.type.value, e.created_at.isoformat(), codec.event_data(e)) for e in events],
        )

    async def get(self, project_id: str, email_id: str) -> Email | None:
        row = self.conn.execute(
            "SELECT payload FROM emails WHERE id = ? AND project_id = ?", (email_id, project_id)
        ).fetchone()
        return codec.email_from_payload(row[0]) if row else None

    async def locate(self, email_id: str) -> Email | None:
        row = self.conn.execute("SELECT payload FROM emails WHERE id = ?", (email_id,)).fetchone()
        return codec.email_from_payload(row[0]) if row else None

    async def by_provider_id(self, provider_message_id: str) -> Email | None:
        row = self.conn.execute(
            "SELECT payload FROM emails WHERE json_extract(payload, '$.provider_message_id') = ?",
            (provider_message_id,),
        ).fetchone()
        return codec.email_from_payload(row[0]) if row else None

    async def events(self, email_id: str) -> list[Event]:
        rows = self.conn.execute(
            "SELECT type, created_at, data FROM email_events WHERE email_id = ? ORDER BY seq", (email_id,)
        )
        return [Event(EventType(t), datetime.fromisoformat(c), json.loads(d)) for t, c, d in rows]

    async def page(self, project_id: str, cursor: CursorRequest, where: EmailFilter = ANY_EMAIL) -> CursorPage[Email]:
        sql, args = "project_id = ?", [project_id]
        if where.status is not None:
            sql += " AND status = ?"
            args.append(where.status.value)
        if where.test is not None:
            sql += " AND test = ?"
            args.append(int(where.test))
        if where.recipient is not None:
            sql += f" AND {_FIRST_TO} = ?"
            args.append(where.recipient.lower())
        # Dates become a range of seq (emails are stored in time order), found through an index.
        if where.since is not None:
            sql += " AND seq >= coalesce((SELECT min(seq) FROM emails WHERE project_id = ? AND created_at >= ?), 1e18)"
            args += [project_id, where.since.isoformat()]
        if where.until is not None:
            sql += " AND seq <= coalesce((SELECT max(seq) FROM emails WHERE project_id = ? AND created_at < ?), -1)"
            args += [project_id, where.until.isoformat()]
        (total,) = self.conn.execute(f"SELECT COUNT(*) FROM emails WHERE {sql}", args).fetchone()
        descending = cursor.order is Order.DESC
        if cursor.after is not None:
            anchor = self.conn.execute(
                "SELECT seq FROM emails WHERE id = ? AND project_id = ?", (cursor.after, project_id)
            ).fetchone()
            if anchor is None:
                return CursorPage(items=[], total=total, has_more=False)
            sql += " AND seq < ?" if descending else " AND seq > ?"
            args.append(anchor[0])
        rows = self.conn.execute(
            f"SELECT payload FROM emails WHERE {sql} ORDER BY seq {'DESC' if descending else 'ASC'} LIMIT ?",
            [*args, cursor.limit + 1],
        ).fetchall()
        items = [codec.email_from_payload(r[0]) for r in rows[: cursor.limit]]
        return CursorPage(items=items, total=total, has_more=len(rows) > cursor.limit)

    async def daily(self, project_id: str, since: datetime) -> list[tuple[str, str, int]]:
        rows = self.conn.execute(
            "SELECT substr(e.created_at, 1, 10), e.type, COUNT(*) FROM email_events e"
            " JOIN emails m ON m.id = e.email_id WHERE e.created_at >= ? AND m.project_id = ? GROUP BY 1, 2 ORDER BY 1",
            (since.isoformat(), project_id),
        )
        return [(day, kind, count) for day, kind, count in rows]

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        count, oldest = self.conn.execute(
            "SELECT count(*), min(due_at) FROM emails WHERE delivery = 'pending' AND due_at <= ?", (codec.ts(now),)
        ).fetchone()
        return count, datetime.fromtimestamp(oldest, UTC) if oldest is not None else None

    async def campaign_timeline(self, campaign_id: str) -> list[tuple[str, str, int]]:
        rows = self.conn.execute(
            "SELECT substr(e.created_at, 1, 16), e.type, COUNT(*) FROM emails m"
            " JOIN email_events e ON e.email_id = m.id WHERE m.campaign_id = ? GROUP BY 1, 2 ORDER BY 1",
            (campaign_id,),
        )
        return [(minute, kind, count) for minute, kind, count in rows]

    async def campaign_links(self, campaign_id: str, limit: int) -> list[tuple[str, int]]:
        rows = self.conn.execute(
            "SELECT json_extract(e.data, '$.url'), COUNT(*) FROM emails m JOIN email_events e ON e.email_id = m.id"
            " WHERE m.campaign_id = ? AND e.type = 'clicked' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
            (campaign_id, limit),
        )
        return [(url, count) for url, count in rows if url]

    async def activity(self, project_id: str, since: datetime) -> Activity:
        rows = self.conn.execute(
            "SELECT e.type, COUNT(*) FROM email_events e JOIN emails m ON m.id = e.email_id"
            " WHERE e.type IN ('sent', 'bounced', 'complained') AND e.created_at >= ?"
            " AND m.project_id = ? AND m.test = 0 GROUP BY e.type",
            (since.isoformat(), project_id),
        )
        counts = dict(rows.fetchall())
        return Activity(counts.get("sent", 0), counts.get("bounced", 0), counts.get("complained", 0))

    async def record(
        self, email: Email, events: list[Event], notices: tuple[Notice, ...] = (), *, since: Email | None = None
    ) -> bool:
        where, args = "id = ? AND project_id = ?", [email.id, email.project_id]
        if since is not None:
            where += (
                " AND status = ? AND json_extract(payload, '$.opens') = ? AND json_extract(payload, '$.clicks') = ?"
            )
            args += [since.status.value, since.opens, since.clicks]

        def write(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                f"UPDATE emails SET status = ?, payload = ? WHERE {where}",
                (email.status.value, codec.email_payload(email), *args),
            )
            if cursor.rowcount != 1:
                return False
            self._add_events(conn, email.id, events)
            fan_out(conn, email.project_id, notices)
            return True

        return await self._group.run(write)

    async def claim(self, email_id: str, now: datetime, lease_until: datetime) -> Claim | None:
        async with self.tx() as conn:
            row = conn.execute(
                "UPDATE emails SET delivery = 'leased', lease_until = ?, attempts = attempts + 1"
                " WHERE id = ? AND ((delivery = 'pending' AND due_at <= ?)"
                " OR (delivery = 'leased' AND lease_until <= ?))"
                " RETURNING payload, attempts",
                (codec.ts(lease_until), email_id, codec.ts(now), codec.ts(now)),
            ).fetchone()
        if row is None:
            return None
        return Claim(email=codec.email_from_payload(row[0]), attempt=row[1], lease_until=lease_until)

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Claim]:
        async with self.tx() as conn:
            rows = conn.execute(
                "UPDATE emails SET delivery = 'leased', lease_until = ?, attempts = attempts + 1"
                " WHERE id IN (SELECT id FROM emails WHERE delivery = 'pending' AND due_at <= ?"
                " ORDER BY due_at LIMIT ?) RETURNING payload, attempts",
                (codec.ts(lease_until), codec.ts(now), limit),
            ).fetchall()
        return [Claim(codec.email_from_payload(p), attempt, lease_until) for p, attempt in rows]

    async def finish(self, claim: Claim, email: Email, events: list[Event], notices: tuple[Notice, ...] = ()) -> bool:
        args = (email.status.value, codec.email_payload(email), email.id, claim.attempt)

        def write(conn: sqlite3.Connection) -> bool:
            # The attempt number is the lease token: every claim increments it.
            cursor = conn.execute(
                "UPDATE emails SET delivery = 'done', lease_until = NULL, status = ?, payload = ?"
                " WHERE id = ? AND delivery IN ('leased', 'handover') AND attempts = ?",
                args,
            )
            if cursor.rowcount != 1:
                return False
            self._add_events(conn, email.id, events)
            fan_out(conn, email.project_id, notices)
            return True

        return await self._group.run(write)

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

    async def claim_handovers(self, now: datetime, lease_until: datetime, limit: int) -> list[Claim]:
        async with self.tx() as conn:
            rows = conn.execute(
                "UPDATE emails SET lease_until = ?, attempts = attempts + 1 WHERE id IN (SELECT id FROM emails"
                " WHERE delivery = 'handover' AND lease_until <= ? LIMIT ?) RETURNING payload, attempts",
                (codec.ts(lease_until), codec.ts(now), limit),
            ).fetchall()
        return [Claim(codec.email_from_payload(p), attempt, lease_until) for p, attempt in rows]

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
                self._add_events(conn, email.id, [event])
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
            rows = conn.execute(
                "UPDATE emails SET delivery = 'pending', lease_until = NULL, due_at = ?"
                " WHERE id IN (SELECT id FROM emails WHERE delivery = 'pending' AND due_at <= ?"
                " UNION ALL SELECT id FROM emails WHERE delivery = 'leased' AND lease_until <= ? LIMIT ?)"
                " RETURNING id",
                (codec.ts(now), codec.ts(pending_before), codec.ts(now), limit),
            ).fetchall()
        return [r[0] for r in rows]


def _domain(row: tuple) -> Domain:
    did, project_id, name, status, created, verified, selector, public, private, tokens = row
    return Domain(
        did,
        project_id,
        name,
        datetime.fromisoformat(created),
        DomainStatus(status),
        datetime.fromisoformat(verified) if verified else None,
        selector,
        public,
        private,
        tuple(json.loads(tokens)),
    )


class SqliteDomains(_Tables):
    _COLUMNS = (
        "id, project_id, name, status, created_at, verified_at, dkim_selector, dkim_public_key, dkim_private_key,"
        " dkim_tokens"
    )

    async def get_by_name(self, project_id: str, name: str) -> Domain | None:
        row = self.conn.execute(
            f"SELECT {self._COLUMNS} FROM domains WHERE project_id = ? AND name = ?", (project_id, name.lower())
        ).fetchone()
        return _domain(row) if row else None

    async def get(self, project_id: str, domain_id: str) -> Domain | None:
        row = self.conn.execute(
            f"SELECT {self._COLUMNS} FROM domains WHERE project_id = ? AND id = ?", (project_id, domain_id)
        ).fetchone()
        return _domain(row) if row else None

    async def all(self, project_id: str) -> list[Domain]:
        rows = self.conn.execute(
            f"SELECT {self._COLUMNS} FROM domains WHERE project_id = ? ORDER BY created_at, rowid", (project_id,)
        )
        return [_domain(r) for r in rows]

    async def add(self, domain: Domain) -> None:
        try:
            async with self.tx() as conn:
                conn.execute(
                    f"INSERT INTO domains ({self._COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        domain.id,
                        domain.project_id,
                        domain.name,
                        domain.status.value,
                        domain.created_at.isoformat(),
                        domain.verified_at.isoformat() if domain.verified_at else None,
                        domain.dkim_selector,
                        domain.dkim_public_key,
                        domain.dkim_private_key,
                        codec.dumps(list(domain.dkim_tokens)),
                    ),
                )
        except sqlite3.IntegrityError as error:
            raise Conflict(f"the project already has the domain {domain.name}") from error

    async def update(self, domain: Domain) -> None:
        async with self.tx() as conn:
            conn.execute(
                "UPDATE domains SET status = ?, verified_at = ? WHERE id = ?",
                (domain.status.value, domain.verified_at.isoformat() if domain.verified_at else None, domain.id),
            )

    async def count(self, project_id: str) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM domains WHERE project_id = ?", (project_id,)).fetchone()[0]

    async def delete(self, project_id: str, domain_id: str) -> bool:
        async with self.tx() as conn:
            cursor = conn.execute("DELETE FROM domains WHERE project_id = ? AND id = ?", (project_id, domain_id))
        return cursor.rowcount == 1


class SqliteLimitOverrides(_Tables):
    async def get(self, project_id: str) -> dict[str, Limit]:
        rows = self.conn.execute(
            "SELECT endpoint, count, window FROM limit_overrides WHERE project_id = ?", (project_id,)
        )
        return {endpoint: Limit(count, window) for endpoint, count, window in rows}

    async def set(self, project_id: str, endpoint: str, limit: Limit) -> None:
        async with self.tx() as conn:
            conn.execute(
                "INSERT INTO limit_overrides (project_id, endpoint, count, window) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (project_id, endpoint) DO UPDATE SET count = excluded.count, window = excluded.window",
                (project_id, endpoint, limit.count, limit.window),
            )

    async def clear(self, project_id: str, endpoint: str) -> bool:
        async with self.tx() as conn:
            cursor = conn.execute(
                "DELETE FROM limit_overrides WHERE project_id = ? AND endpoint = ?", (project_id, endpoint)
            )
        return cursor.rowcount == 1


class SqliteRateLimits:
    """The sliding log in a table; shared by every process that opens the same database file.

    Each check costs O(log n) whatever the limit: expired rows are deleted as they expire (each
    once), the count per bucket is kept in rate_counts, and the oldest row comes off the index.
    """

    def __init__(self, group: GroupCommit) -> None:
        self._group = group

    async def hit(self, bucket: str, now: float, limit: Limit) -> Admission:
        def write(conn: sqlite3.Connection) -> Admission:
            expired = conn.execute(
                "DELETE FROM rate_hits WHERE bucket = ? AND at <= ?", (bucket, now - limit.window)
            ).rowcount
            if expired:
                conn.execute("UPDATE rate_counts SET used = used - ? WHERE bucket = ?", (expired, bucket))
            row = conn.execute("SELECT used FROM rate_counts WHERE bucket = ?", (bucket,)).fetchone()
            used = row[0] if row else 0
            allowed = used < limit.count
            if allowed:
                conn.execute("INSERT INTO rate_hits (bucket, at) VALUES (?, ?)", (bucket, now))
                conn.execute(
                    "INSERT INTO rate_counts (bucket, used) VALUES (?, 1)"
                    " ON CONFLICT (bucket) DO UPDATE SET used = used + 1",
                    (bucket,),
                )
                used += 1
            (oldest,) = conn.execute("SELECT MIN(at) FROM rate_hits WHERE bucket = ?", (bucket,)).fetchone()
            return Admission(allowed, used, oldest)

        return await self._group.run(write)


class SqliteIdempotency(_Tables):
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


def _template(row: tuple) -> Template:
    tid, project_id, name, subject, html, text, created, updated = row
    return Template(
        tid, project_id, name, subject, html, datetime.fromisoformat(created), datetime.fromisoformat(updated), text
    )


class SqliteTemplates(_Tables):
    _COLUMNS = "id, project_id, name, subject, html, text, created_at, updated_at"

    @staticmethod
    def _row(template: Template) -> dict:
        return {
            "id": template.id,
            "project_id": template.project_id,
            "name": template.name,
            "subject": template.subject,
            "html": template.html,
            "text": template.text,
            "created_at": template.created_at.isoformat(),
            "updated_at": template.updated_at.isoformat(),
        }

    async def add(self, template: Template) -> None:
        async with self.tx() as conn:
            self.db["templates"].insert(self._row(template))
            self._keep(conn, template)

    async def get(self, project_id: str, template_id: str) -> Template | None:
        row = self.conn.execute(
            f"SELECT {self._COLUMNS} FROM templates WHERE id = ? AND project_id = ?", (template_id, project_id)
        ).fetchone()
        return _template(row) if row else None

    async def list(self, project_id: str) -> list[Template]:
        rows = self.conn.execute(
            f"SELECT {self._COLUMNS} FROM templates WHERE project_id = ? ORDER BY created_at, rowid", (project_id,)
        )
        return [_template(r) for r in rows]

    async def update(self, template: Template) -> None:
        async with self.tx() as conn:
            self.db["templates"].update(template.id, self._row(template))
            self._keep(conn, template)

    async def delete(self, project_id: str, template_id: str) -> bool:
        async with self.tx() as conn:
            cursor = conn.execute("DELETE FROM templates WHERE id = ? AND project_id = ?", (template_id, project_id))
            if cursor.rowcount == 1:
                conn.execute("DELETE FROM template_versions WHERE template_id = ?", (template_id,))
        return cursor.rowcount == 1

    @staticmethod
    def _keep(conn: sqlite3.Connection, template: Template) -> None:
        (number,) = conn.execute(
            "SELECT COALESCE(MAX(number), 0) + 1 FROM template_versions WHERE template_id = ?", (template.id,)
        ).fetchone()
        conn.execute(
            "INSERT INTO template_versions (template_id, number, name, subject, html, text, saved_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                template.id,
                number,
                template.name,
                template.subject,
                template.html,
                template.text,
                template.updated_at.isoformat(),
            ),
        )
        conn.execute(
            "DELETE FROM template_versions WHERE template_id = ? AND number <= ?", (template.id, number - KEPT_VERSIONS)
        )

    async def versions(self, project_id: str, template_id: str) -> list[TemplateVersion]:
        rows = self.conn.execute(
            "SELECT v.template_id, v.number, v.name, v.subject, v.html, v.text, v.saved_at"
            " FROM template_versions v JOIN templates t ON t.id = v.template_id"
            " WHERE v.template_id = ? AND t.project_id = ? ORDER BY v.number DESC",
            (template_id, project_id),
        )
        return [TemplateVersion(*row[:6], datetime.fromisoformat(row[6])) for row in rows]


class SqliteStorage:
    def __init__(self, path: str | Path) -> None:
        self.db = open_database(path)
        self._checkpointer = Checkpointer(path)
        self.projects = SqliteProjects(self.db)
        self.keys = SqliteKeys(self.db)
        group = GroupCommit(self.db.conn)
        self.emails = SqliteEmails(self.db, group)
        self.limits = SqliteLimitOverrides(self.db)
        self.rate_limits = SqliteRateLimits(group)
        self.idempotency = SqliteIdempotency(self.db, group)
        self.domains = SqliteDomains(self.db)
        self.templates = SqliteTemplates(self.db)
        tables = _Tables(self.db)
        self.contacts = SqliteContacts(tables)
        self.lists = SqliteLists(tables)
        self.imports = SqliteImports(tables)
        self.otp = SqliteOtp(tables)
        self.suppressions = SqliteSuppressions(tables)
        self.campaigns = SqliteCampaigns(tables)
        self.webhooks = SqliteWebhooks(tables)
        self.assets = SqliteAssets(tables)
        self.users = SqliteUsers(tables)
        self.pacing = SqlitePacing(tables)

    async def migrate(self) -> int:
        return migrate(self.db.conn)  # already done on open; a no-op that reports the version

    async def ping(self) -> None:
        self.db.conn.execute("SELECT count(*) FROM projects WHERE id = ''").fetchone()

    async def close(self) -> None:
        self._checkpointer.stop()
        self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self.db.conn.close()

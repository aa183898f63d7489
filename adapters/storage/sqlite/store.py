"""SQLite storage through sqlite-utils: WAL, one connection per process, schema migrated on open.

Queries are short and indexed, so they run inline on the event loop; a separate thread would cost
more than the query. Writes that must be atomic run in BEGIN IMMEDIATE transactions, which also
makes claims safe between several processes sharing one database file.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from adapters.storage import codec
from adapters.storage.sqlite.assets import SqliteAssets
from adapters.storage.sqlite.batch import BUSY_WAIT_MS, LINGER, GroupCommit, at_once, locked_out
from adapters.storage.sqlite.campaigns import SqliteCampaigns
from adapters.storage.sqlite.contacts import SqliteContacts, SqliteLists, SqliteOtp, SqliteSuppressions
from adapters.storage.sqlite.email_reports import SqliteActivity, SqliteCampaignMail
from adapters.storage.sqlite.emails import SqliteEmails, SqliteQuota
from adapters.storage.sqlite.imports import SqliteImports
from adapters.storage.sqlite.outbox import SqliteOutbox
from adapters.storage.sqlite.pacing import SqlitePacing
from adapters.storage.sqlite.schema import migrate
from adapters.storage.sqlite.tables import Tables
from adapters.storage.sqlite.users import SqliteUsers
from adapters.storage.sqlite.webhooks import SqliteWebhooks
from autorelay_core.domain.domains import Domain, DomainStatus
from autorelay_core.domain.keys import ApiKey, KeyMode
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.domain.templates import KEPT_VERSIONS, Template, TemplateVersion
from autorelay_core.errors import Conflict
from autorelay_core.policies.idempotency import IN_FLIGHT_LEASE, RETENTION, Existing, StoredResponse
from autorelay_core.policies.rate_limit import Admission, Limit


class _Connection(sqlite3.Connection):
    """Statements run on the event loop, so a lock held by another process (a backup, a shell, a
    long import in a worker) must not hold the loop: the busy wait is short (BUSY_WAIT_MS), and a
    statement still locked out after it raises Unavailable (503 with Retry-After) instead of
    sqlite3's OperationalError. Group commits retry without blocking (batch.py)."""

    def execute(self, *args: Any) -> sqlite3.Cursor:
        try:
            return super().execute(*args)
        except sqlite3.OperationalError as error:
            raise locked_out(error) from error

    def executemany(self, *args: Any) -> sqlite3.Cursor:
        try:
            return super().executemany(*args)
        except sqlite3.OperationalError as error:
            raise locked_out(error) from error


SYNCHRONOUS = ("full", "normal")


def open_database(
    path: str | Path, large_reads: bool = True, synchronous: str = "full"
) -> tuple[sqlite_utils.Database, int]:
    """The process's connection, tuned, with the schema brought up to date (once per process: the
    version reached is returned for `migrate()` to report). `large_reads`: a process serving pages
    over big lists; a worker, which reads rows by id and small batches, keeps its memory small.
    `synchronous`: "full" (every commit is on the disk before it returns, so a 200 survives a
    power cut) or "normal" (survives a crash of the process, not of the machine)."""
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_WAIT_MS / 1000, factory=_Connection
    )
    db = sqlite_utils.Database(conn)
    db.enable_wal()
    # FULL: the WAL is flushed to the disk at every commit, before any caller hears of it (as
    # Postfix answers 250 only once its queue file is synced). The group commit shares one flush
    # among a loop turn's writes; one takes a fraction of a millisecond on an SSD. NORMAL keeps
    # commits across a crash of the process but can lose the last ones to a power cut.
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, not {synchronous!r}")
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    conn.execute("PRAGMA foreign_keys = ON")
    # Page through big lists from memory: a 32 MB page cache, and reads through mmap instead of a
    # read() call per page (counting 100,000 contacts goes from ~25 ms to ~5 ms).
    # A worker needs neither: the mapped pages count in its RSS (a campaign runner reached 190 MB,
    # half of it the mapped database), and 4 MB of cache hold every page a pass touches.
    conn.execute(f"PRAGMA cache_size = {-32000 if large_reads else -4000}")
    conn.execute(f"PRAGMA mmap_size = {268435456 if large_reads else 0}")
    # Sorts and IN-lists of statements (an outbox claim's subquery, say) in memory: on disk, each
    # one created, wrote and deleted a file in /var/tmp, which was half the write calls of a send.
    conn.execute("PRAGMA temp_store = MEMORY")
    # Checkpoints (which fsync) run on a background thread instead of inside some request's COMMIT.
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
    # Processes starting together take turns migrating: at start, waiting for the lock is right.
    conn.execute("PRAGMA busy_timeout = 10000")
    version = migrate(conn)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_WAIT_MS}")
    return db, version


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


class SqliteProjects(Tables):
    _COLUMNS = (
        "id, name, status, status_reason, created_at, track_opens, track_clicks,"
        " resend_uncertain_transactional, resend_uncertain_campaigns"
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


class SqliteDomains(Tables):
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


class SqliteLimitOverrides(Tables):
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

    async def forget(self, bucket: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM rate_hits WHERE bucket = ?", (bucket,))
            conn.execute("DELETE FROM rate_counts WHERE bucket = ?", (bucket,))

        await self._group.run(write)

    async def close(self) -> None:
        return None  # nothing of its own to let go of


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


def _template(row: tuple) -> Template:
    tid, project_id, name, subject, html, text, created, updated = row
    return Template(
        tid, project_id, name, subject, html, datetime.fromisoformat(created), datetime.fromisoformat(updated), text
    )


class SqliteTemplates(Tables):
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
            self.db.table("templates").insert(self._row(template))
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
            self.db.table("templates").update(template.id, self._row(template))
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

    async def versions(self, project_id: str, template_id: str) -> builtins.list[TemplateVersion]:
        rows = self.conn.execute(
            "SELECT v.template_id, v.number, v.name, v.subject, v.html, v.text, v.saved_at"
            " FROM template_versions v JOIN templates t ON t.id = v.template_id"
            " WHERE v.template_id = ? AND t.project_id = ? ORDER BY v.number DESC",
            (template_id, project_id),
        )
        return [
            TemplateVersion(tid, number, name, subject, html, text, datetime.fromisoformat(saved))
            for tid, number, name, subject, html, text, saved in rows
        ]


class SqliteStorage:
    def __init__(
        self, path: str | Path, large_reads: bool = True, linger: float = LINGER, synchronous: str = "full"
    ) -> None:
        """`large_reads`: a process serving pages, and `synchronous` (see open_database); `linger`:
        how long a delivery's outcome waits for others to share its commit (batch.py)."""
        self.db, self._version = open_database(path, large_reads, synchronous)
        self._checkpointer = Checkpointer(path)
        self.projects = SqliteProjects(self.db)
        self.keys = SqliteKeys(self.db)
        group = GroupCommit(self.db.conn, linger)
        self.emails = SqliteEmails(self.db, group)
        self.outbox = SqliteOutbox(self.db, group)
        self.campaign_mail = SqliteCampaignMail(self.db)
        self.quota = SqliteQuota(self.db)
        self.activity = SqliteActivity(self.db)
        self.limits = SqliteLimitOverrides(self.db)
        self.rate_limits = SqliteRateLimits(group)
        self.idempotency = SqliteIdempotency(self.db, group)
        self.domains = SqliteDomains(self.db)
        self.templates = SqliteTemplates(self.db)
        tables = Tables(self.db)
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
        return self._version  # migrated when the connection was opened

    async def ping(self) -> None:
        self.db.conn.execute("SELECT count(*) FROM projects WHERE id = ''").fetchone()

    async def close(self) -> None:
        self._checkpointer.stop()
        self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self.db.conn.close()

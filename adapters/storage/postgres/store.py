"""PostgreSQL storage through psycopg 3 and its async connection pool: the production profile.

Every process (API servers, workers, the CLI) opens its own pool; the database is the only shared
state. Atomicity between processes comes from the database alone: unique inserts, row locks taken
by UPDATE, and SKIP LOCKED claims. Connections run in autocommit; work that must be atomic opens an
explicit transaction.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import orjson
from psycopg import AsyncConnection, errors
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from adapters.storage.postgres.assets import PostgresAssets
from adapters.storage.postgres.campaigns import PostgresCampaigns
from adapters.storage.postgres.contacts import PostgresContacts, PostgresLists, PostgresOtp, PostgresSuppressions
from adapters.storage.postgres.email_reports import PostgresActivity, PostgresCampaignMail
from adapters.storage.postgres.emails import PostgresEmails, PostgresQuota
from adapters.storage.postgres.imports import PostgresImports
from adapters.storage.postgres.outbox import PostgresOutbox
from adapters.storage.postgres.pacing import PostgresPacing
from adapters.storage.postgres.schema import migrate
from adapters.storage.postgres.users import PostgresUsers
from adapters.storage.postgres.webhooks import PostgresWebhooks
from autorelay_core.domain.domains import Domain, DomainStatus
from autorelay_core.domain.keys import ApiKey, KeyMode
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.domain.templates import KEPT_VERSIONS, Template, TemplateVersion
from autorelay_core.errors import Conflict, Invalid, Unavailable
from autorelay_core.policies.idempotency import IN_FLIGHT_LEASE, RETENTION, Existing, StoredResponse
from autorelay_core.policies.rate_limit import Admission, Limit

# How long a query waits for a free pooled connection before the request gets a 503.
CONNECTION_WAIT = 5.0


class Database:
    """A pool opened on first use, on the event loop that uses it, with the schema migrated.

    A pool belongs to one event loop; using it from another is a bug (each process runs one loop),
    reported as such rather than hanging.
    """

    def __init__(self, url: str, max_size: int = 10) -> None:
        self.url, self._max_size = url, max_size
        self._pool: AsyncConnectionPool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening = asyncio.Lock()
        self.version = 0

    @staticmethod
    async def _configure(conn: AsyncConnection) -> None:
        set_json_loads(orjson.loads, conn)
        await conn.execute("SET TIME ZONE 'UTC'")

    async def pool(self) -> AsyncConnectionPool:
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._loop is loop:
            return self._pool
        if self._loop is not None and self._loop is not loop:
            raise RuntimeError("a PostgresStorage is bound to the event loop that first used it")
        async with self._opening:
            if self._pool is None:
                try:
                    async with await AsyncConnection.connect(self.url, autocommit=True) as conn:
                        self.version = await migrate(conn)
                except errors.OperationalError as error:
                    raise Unavailable(f"the database is unavailable: {type(error).__name__}") from error
                pool = AsyncConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self._max_size,
                    kwargs={"autocommit": True},
                    configure=self._configure,
                    open=False,
                )
                try:
                    await pool.open(wait=True, timeout=30)
                except PoolTimeout as error:
                    await pool.close()
                    raise Unavailable("the database is unavailable (no connection could be opened)") from error
                self._pool, self._loop = pool, loop
        return self._pool

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        try:
            # A short wait for a free connection: a database that is down or saturated gets a quick
            # 503 with Retry-After instead of requests piling up for the pool's default 30 s.
            async with (await self.pool()).connection(timeout=CONNECTION_WAIT) as conn:
                yield conn
        except (PoolTimeout, errors.OperationalError) as error:
            # Server gone, connection lost, deadlock or serialization failure: all worth a retry.
            raise Unavailable(f"the database is unavailable ({type(error).__name__}); retry shortly") from error
        except errors.DataError as error:
            # The HTTP edge refuses NUL already; an embedder calling the core gets the same answer.
            if "NUL" in str(error) or isinstance(error, errors.UntranslatableCharacter):
                raise Invalid("text must not contain the NUL character (\\u0000)") from None
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.connection() as conn, conn.transaction():
            yield conn

    async def fetchone(self, query: str, params: tuple = ()) -> tuple | None:
        async with self.connection() as conn:
            cursor = await conn.execute(query, params)
            return await cursor.fetchone()

    async def fetchall(self, query: str, params: tuple = ()) -> list[tuple]:
        async with self.connection() as conn:
            cursor = await conn.execute(query, params)
            return await cursor.fetchall()

    async def rowcount(self, query: str, params: tuple = ()) -> int:
        async with self.connection() as conn:
            cursor = await conn.execute(query, params)
            return cursor.rowcount

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def _project(row: tuple) -> Project:
    pid, name, status, reason, created, *switches = row
    return Project(pid, name, created, AccountStatus(status), reason, *switches)


class PostgresProjects:
    _COLUMNS = (
        "id, name, status, status_reason, created_at, track_opens, track_clicks,"
        " resend_uncertain_transactional, resend_uncertain_campaigns"
    )

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, project: Project) -> None:
        try:
            await self.db.rowcount(
                f"INSERT INTO projects ({self._COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    project.id,
                    project.name,
                    project.status.value,
                    project.status_reason,
                    project.created_at,
                    project.track_opens,
                    project.track_clicks,
                    project.resend_uncertain_transactional,
                    project.resend_uncertain_campaigns,
                ),
            )
        except errors.UniqueViolation as error:
            raise Conflict(f"a project named {project.name!r} already exists") from error

    async def get(self, project_id: str) -> Project | None:
        row = await self.db.fetchone(f"SELECT {self._COLUMNS} FROM projects WHERE id = %s", (project_id,))
        return _project(row) if row else None

    async def get_by_name(self, name: str) -> Project | None:
        row = await self.db.fetchone(f"SELECT {self._COLUMNS} FROM projects WHERE name = %s", (name,))
        return _project(row) if row else None

    async def list(self) -> list[Project]:
        rows = await self.db.fetchall(f"SELECT {self._COLUMNS} FROM projects ORDER BY created_at, id")
        return [_project(r) for r in rows]

    async def set_status(self, project_id: str, status: AccountStatus, reason: str) -> None:
        await self.db.rowcount(
            "UPDATE projects SET status = %s, status_reason = %s WHERE id = %s", (status.value, reason, project_id)
        )

    async def set_uncertain_policy(self, project_id: str, *, transactional: bool, campaigns: bool) -> None:
        await self.db.rowcount(
            "UPDATE projects SET resend_uncertain_transactional = %s, resend_uncertain_campaigns = %s WHERE id = %s",
            (transactional, campaigns, project_id),
        )

    async def rename(self, project_id: str, name: str) -> None:
        try:
            await self.db.rowcount("UPDATE projects SET name = %s WHERE id = %s", (name, project_id))
        except errors.UniqueViolation as error:
            raise Conflict(f"a project named {name!r} already exists") from error

    async def set_tracking(self, project_id: str, *, opens: bool, clicks: bool) -> None:
        await self.db.rowcount(
            "UPDATE projects SET track_opens = %s, track_clicks = %s WHERE id = %s", (opens, clicks, project_id)
        )


def _key(row: tuple) -> ApiKey:
    kid, project_id, name, mode, key_hash, last4, scopes, created, revoked, used = row
    return ApiKey(kid, project_id, name, KeyMode(mode), key_hash, last4, tuple(scopes), created, revoked, used)


class PostgresKeys:
    _COLUMNS = "id, project_id, name, mode, key_hash, last4, scopes, created_at, revoked_at, last_used_at"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, key: ApiKey) -> None:
        await self.db.rowcount(
            f"INSERT INTO api_keys ({self._COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                key.id,
                key.project_id,
                key.name,
                key.mode.value,
                key.key_hash,
                key.last4,
                list(key.scopes),
                key.created_at,
                key.revoked_at,
                key.last_used_at,
            ),
        )

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        row = await self.db.fetchone(f"SELECT {self._COLUMNS} FROM api_keys WHERE key_hash = %s", (key_hash,))
        return _key(row) if row else None

    async def list(self, project_id: str) -> list[ApiKey]:
        rows = await self.db.fetchall(
            f"SELECT {self._COLUMNS} FROM api_keys WHERE project_id = %s ORDER BY created_at, id", (project_id,)
        )
        return [_key(r) for r in rows]

    async def revoke(self, key_id: str, at: datetime) -> bool:
        updated = await self.db.rowcount(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, %s) WHERE id = %s", (at, key_id)
        )
        return updated == 1

    async def touch(self, key_id: str, at: datetime) -> None:
        await self.db.rowcount("UPDATE api_keys SET last_used_at = %s WHERE id = %s", (at, key_id))


def _domain(row: tuple) -> Domain:
    did, project_id, name, status, created, verified, selector, public, private, tokens = row
    return Domain(
        did, project_id, name, created, DomainStatus(status), verified, selector, public, private, tuple(tokens)
    )


class PostgresDomains:
    _COLUMNS = (
        "id, project_id, name, status, created_at, verified_at, dkim_selector, dkim_public_key, dkim_private_key,"
        " dkim_tokens"
    )

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_by_name(self, project_id: str, name: str) -> Domain | None:
        row = await self.db.fetchone(
            f"SELECT {self._COLUMNS} FROM domains WHERE project_id = %s AND name = %s", (project_id, name.lower())
        )
        return _domain(row) if row else None

    async def get(self, project_id: str, domain_id: str) -> Domain | None:
        row = await self.db.fetchone(
            f"SELECT {self._COLUMNS} FROM domains WHERE project_id = %s AND id = %s", (project_id, domain_id)
        )
        return _domain(row) if row else None

    async def all(self, project_id: str) -> list[Domain]:
        rows = await self.db.fetchall(
            f"SELECT {self._COLUMNS} FROM domains WHERE project_id = %s ORDER BY created_at, id", (project_id,)
        )
        return [_domain(r) for r in rows]

    async def add(self, domain: Domain) -> None:
        try:
            await self.db.rowcount(
                f"INSERT INTO domains ({self._COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    domain.id,
                    domain.project_id,
                    domain.name,
                    domain.status.value,
                    domain.created_at,
                    domain.verified_at,
                    domain.dkim_selector,
                    domain.dkim_public_key,
                    domain.dkim_private_key,
                    list(domain.dkim_tokens),
                ),
            )
        except errors.UniqueViolation as error:
            raise Conflict(f"the project already has the domain {domain.name}") from error

    async def update(self, domain: Domain) -> None:
        await self.db.rowcount(
            "UPDATE domains SET status = %s, verified_at = %s WHERE id = %s",
            (domain.status.value, domain.verified_at, domain.id),
        )

    async def count(self, project_id: str) -> int:
        row = await self.db.fetchone("SELECT count(*) FROM domains WHERE project_id = %s", (project_id,))
        return row[0] if row else 0

    async def delete(self, project_id: str, domain_id: str) -> bool:
        deleted = await self.db.rowcount(
            "DELETE FROM domains WHERE project_id = %s AND id = %s", (project_id, domain_id)
        )
        return deleted == 1


class PostgresLimitOverrides:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, project_id: str) -> dict[str, Limit]:
        rows = await self.db.fetchall(
            'SELECT endpoint, count, "window" FROM limit_overrides WHERE project_id = %s', (project_id,)
        )
        return {endpoint: Limit(count, window) for endpoint, count, window in rows}

    async def set(self, project_id: str, endpoint: str, limit: Limit) -> None:
        await self.db.rowcount(
            'INSERT INTO limit_overrides (project_id, endpoint, count, "window") VALUES (%s, %s, %s, %s)'
            ' ON CONFLICT (project_id, endpoint) DO UPDATE SET count = excluded.count, "window" = excluded."window"',
            (project_id, endpoint, limit.count, limit.window),
        )

    async def clear(self, project_id: str, endpoint: str) -> bool:
        deleted = await self.db.rowcount(
            "DELETE FROM limit_overrides WHERE project_id = %s AND endpoint = %s", (project_id, endpoint)
        )
        return deleted == 1


class PostgresRateLimits:
    """The sliding log, shared by every process on the database (see autorelay_rate_hit)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def hit(self, bucket: str, now: float, limit: Limit) -> Admission:
        row = await self.db.fetchone(
            "SELECT * FROM autorelay_rate_hit(%s, %s, %s, %s)", (bucket, now, limit.count, float(limit.window))
        )
        assert row is not None
        allowed, used, oldest = row
        return Admission(allowed, used, oldest)

    async def forget(self, bucket: str) -> None:
        async with self.db.transaction() as conn:  # the count's row first, as autorelay_rate_hit locks it
            await conn.execute("DELETE FROM rate_counts WHERE bucket = %s", (bucket,))
            await conn.execute("DELETE FROM rate_hits WHERE bucket = %s", (bucket,))

    async def close(self) -> None:
        return None  # nothing of its own to let go of


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


def _template(row: tuple) -> Template:
    tid, project_id, name, subject, html, text, created, updated = row
    return Template(tid, project_id, name, subject, html, created, updated, text)


class PostgresTemplates:
    _COLUMNS = "id, project_id, name, subject, html, text, created_at, updated_at"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, template: Template) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                f"INSERT INTO templates ({self._COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    template.id,
                    template.project_id,
                    template.name,
                    template.subject,
                    template.html,
                    template.text,
                    template.created_at,
                    template.updated_at,
                ),
            )
            await self._keep(conn, template)

    async def get(self, project_id: str, template_id: str) -> Template | None:
        row = await self.db.fetchone(
            f"SELECT {self._COLUMNS} FROM templates WHERE id = %s AND project_id = %s", (template_id, project_id)
        )
        return _template(row) if row else None

    async def list(self, project_id: str) -> list[Template]:
        rows = await self.db.fetchall(
            f"SELECT {self._COLUMNS} FROM templates WHERE project_id = %s ORDER BY created_at, id", (project_id,)
        )
        return [_template(r) for r in rows]

    async def update(self, template: Template) -> None:
        # The UPDATE locks the row, so concurrent saves number their versions one after the other.
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE templates SET name = %s, subject = %s, html = %s, text = %s, updated_at = %s"
                " WHERE id = %s AND project_id = %s",
                (
                    template.name,
                    template.subject,
                    template.html,
                    template.text,
                    template.updated_at,
                    template.id,
                    template.project_id,
                ),
            )
            if cursor.rowcount == 1:
                await self._keep(conn, template)

    async def delete(self, project_id: str, template_id: str) -> bool:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM templates WHERE id = %s AND project_id = %s", (template_id, project_id)
            )
            if cursor.rowcount == 1:
                await conn.execute("DELETE FROM template_versions WHERE template_id = %s", (template_id,))
        return cursor.rowcount == 1

    @staticmethod
    async def _keep(conn, template: Template) -> None:
        await conn.execute(
            "INSERT INTO template_versions (template_id, number, name, subject, html, text, saved_at)"
            " SELECT %s, COALESCE(MAX(number), 0) + 1, %s, %s, %s, %s, %s FROM template_versions"
            " WHERE template_id = %s",
            (
                template.id,
                template.name,
                template.subject,
                template.html,
                template.text,
                template.updated_at,
                template.id,
            ),
        )
        await conn.execute(
            "DELETE FROM template_versions WHERE template_id = %s"
            " AND number <= (SELECT MAX(number) FROM template_versions WHERE template_id = %s) - %s",
            (template.id, template.id, KEPT_VERSIONS),
        )

    async def versions(self, project_id: str, template_id: str) -> builtins.list[TemplateVersion]:
        rows = await self.db.fetchall(
            "SELECT v.template_id, v.number, v.name, v.subject, v.html, v.text, v.saved_at"
            " FROM template_versions v JOIN templates t ON t.id = v.template_id"
            " WHERE v.template_id = %s AND t.project_id = %s ORDER BY v.number DESC",
            (template_id, project_id),
        )
        return [TemplateVersion(*row) for row in rows]


class PostgresStorage:
    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.db = Database(url, pool_size)
        self.projects = PostgresProjects(self.db)
        self.users = PostgresUsers(self.db)
        self.keys = PostgresKeys(self.db)
        self.emails = PostgresEmails(self.db)
        self.outbox = PostgresOutbox(self.db)
        self.campaign_mail = PostgresCampaignMail(self.db)
        self.quota = PostgresQuota(self.db)
        self.activity = PostgresActivity(self.db)
        self.limits = PostgresLimitOverrides(self.db)
        self.pacing = PostgresPacing(self.db)
        self.rate_limits = PostgresRateLimits(self.db)
        self.idempotency = PostgresIdempotency(self.db)
        self.domains = PostgresDomains(self.db)
        self.templates = PostgresTemplates(self.db)
        self.contacts = PostgresContacts(self.db)
        self.lists = PostgresLists(self.db)
        self.imports = PostgresImports(self.db)
        self.otp = PostgresOtp(self.db)
        self.suppressions = PostgresSuppressions(self.db)
        self.campaigns = PostgresCampaigns(self.db)
        self.webhooks = PostgresWebhooks(self.db)
        self.assets = PostgresAssets(self.db)

    async def migrate(self) -> int:
        await self.db.pool()  # opening the pool migrates
        return self.db.version

    async def ping(self) -> None:
        await self.db.fetchone("SELECT 1")

    async def close(self) -> None:
        self.outbox.close_handover_connection()
        await self.db.close()

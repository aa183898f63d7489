"""SQLite storage through sqlite-utils: WAL, one connection per process, schema migrated on open.

Queries are short and indexed, so they run inline on the event loop; a separate thread would cost
more than the query. Writes that must be atomic run in BEGIN IMMEDIATE transactions, which also
makes claims safe between several processes sharing one database file.
"""

from __future__ import annotations

from pathlib import Path

from adapters.storage.sqlite.activity import SqliteContactEvents
from adapters.storage.sqlite.assets import SqliteAssets
from adapters.storage.sqlite.batch import LINGER, GroupCommit
from adapters.storage.sqlite.campaigns import SqliteCampaigns
from adapters.storage.sqlite.contacts import SqliteContacts, SqliteLists, SqliteOtp, SqliteSuppressions
from adapters.storage.sqlite.database import Checkpointer, open_database
from adapters.storage.sqlite.domains import SqliteDomains
from adapters.storage.sqlite.email_reports import SqliteActivity, SqliteCampaignMail
from adapters.storage.sqlite.emails import SqliteEmails, SqliteQuota
from adapters.storage.sqlite.idempotency import SqliteIdempotency
from adapters.storage.sqlite.imports import SqliteImports
from adapters.storage.sqlite.inbound import SqliteInbound
from adapters.storage.sqlite.journeys import SqliteJourneys
from adapters.storage.sqlite.limits import SqliteLimitOverrides, SqliteRateLimits
from adapters.storage.sqlite.outbox import SqliteOutbox
from adapters.storage.sqlite.pacing import SqlitePacing
from adapters.storage.sqlite.projects import SqliteKeys, SqliteProjects
from adapters.storage.sqlite.properties import SqliteProperties
from adapters.storage.sqlite.segments import SqliteSegments
from adapters.storage.sqlite.tables import Tables
from adapters.storage.sqlite.templates import SqliteTemplates
from adapters.storage.sqlite.topics import SqliteTopics
from adapters.storage.sqlite.users import SqliteUsers
from adapters.storage.sqlite.webhooks import SqliteWebhooks


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
        self.properties = SqliteProperties(tables)
        self.contact_events = SqliteContactEvents(tables)
        self.segments = SqliteSegments(tables)
        self.topics = SqliteTopics(tables)
        self.imports = SqliteImports(tables)
        self.otp = SqliteOtp(tables)
        self.suppressions = SqliteSuppressions(tables)
        self.campaigns = SqliteCampaigns(tables)
        self.webhooks = SqliteWebhooks(tables)
        self.assets = SqliteAssets(tables)
        self.users = SqliteUsers(tables)
        self.pacing = SqlitePacing(tables)
        self.journeys = SqliteJourneys(tables, group)
        self.inbound = SqliteInbound(tables)

    async def migrate(self) -> int:
        return self._version  # migrated when the connection was opened

    async def ping(self) -> None:
        self.db.conn.execute("SELECT count(*) FROM projects WHERE id = ''").fetchone()

    async def close(self) -> None:
        self._checkpointer.stop()
        self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self.db.conn.close()

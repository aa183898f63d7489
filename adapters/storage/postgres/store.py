"""PostgreSQL storage through psycopg 3 and its async connection pool: the production profile.

Every process (API servers, workers, the CLI) opens its own pool; the database is the only shared
state. Atomicity between processes comes from the database alone: unique inserts, row locks taken
by UPDATE, and SKIP LOCKED claims. Connections run in autocommit; work that must be atomic opens an
explicit transaction.
"""

from __future__ import annotations

from adapters.storage.postgres.activity import PostgresContactEvents
from adapters.storage.postgres.assets import PostgresAssets
from adapters.storage.postgres.campaigns import PostgresCampaigns
from adapters.storage.postgres.contacts import PostgresContacts, PostgresLists, PostgresOtp, PostgresSuppressions
from adapters.storage.postgres.database import Database
from adapters.storage.postgres.domains import PostgresDomains
from adapters.storage.postgres.email_reports import PostgresActivity, PostgresCampaignMail
from adapters.storage.postgres.emails import PostgresEmails, PostgresQuota
from adapters.storage.postgres.idempotency import PostgresIdempotency
from adapters.storage.postgres.imports import PostgresImports
from adapters.storage.postgres.inbound import PostgresInbound
from adapters.storage.postgres.journeys import PostgresJourneys
from adapters.storage.postgres.limits import PostgresLimitOverrides, PostgresRateLimits
from adapters.storage.postgres.outbox import PostgresOutbox
from adapters.storage.postgres.pacing import PostgresPacing
from adapters.storage.postgres.projects import PostgresKeys, PostgresProjects
from adapters.storage.postgres.properties import PostgresProperties
from adapters.storage.postgres.segments import PostgresSegments
from adapters.storage.postgres.templates import PostgresTemplates
from adapters.storage.postgres.topics import PostgresTopics
from adapters.storage.postgres.users import PostgresUsers
from adapters.storage.postgres.webhooks import PostgresWebhooks


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
        self.properties = PostgresProperties(self.db)
        self.contact_events = PostgresContactEvents(self.db)
        self.segments = PostgresSegments(self.db)
        self.topics = PostgresTopics(self.db)
        self.journeys = PostgresJourneys(self.db)
        self.inbound = PostgresInbound(self.db)
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

"""Every repository of one database, as one object."""

from __future__ import annotations

from typing import Protocol

from autorelay_core.ports.audience import (
    CampaignRepository,
    ContactEvents,
    ContactRepository,
    ImportRepository,
    ListRepository,
    OtpRepository,
    PropertyRepository,
    SegmentRepository,
    SuppressionRepository,
    TopicRepository,
)
from autorelay_core.ports.inbound import InboundRepository
from autorelay_core.ports.journeys import JourneyRepository
from autorelay_core.ports.mail import (
    CampaignMail,
    EmailActivity,
    EmailRepository,
    Outbox,
    QuotaUsage,
)
from autorelay_core.ports.records import (
    AssetRepository,
    DomainRepository,
    IdempotencyStore,
    KeyRepository,
    LimitOverrides,
    PacingSettings,
    ProjectRepository,
    TemplateRepository,
    UserRepository,
)
from autorelay_core.ports.webhooks import WebhookRepository


class Storage(Protocol):
    """Every repository of one database. Read-only members, so an adapter may hold any class that
    honours the port (a type checker checks each against it)."""

    @property
    def projects(self) -> ProjectRepository: ...

    @property
    def contacts(self) -> ContactRepository: ...

    @property
    def lists(self) -> ListRepository: ...

    @property
    def properties(self) -> PropertyRepository: ...

    @property
    def contact_events(self) -> ContactEvents: ...

    @property
    def segments(self) -> SegmentRepository: ...

    @property
    def topics(self) -> TopicRepository: ...

    @property
    def otp(self) -> OtpRepository: ...

    @property
    def suppressions(self) -> SuppressionRepository: ...

    @property
    def campaigns(self) -> CampaignRepository: ...

    @property
    def idempotency(self) -> IdempotencyStore: ...

    @property
    def domains(self) -> DomainRepository: ...

    @property
    def limits(self) -> LimitOverrides: ...

    @property
    def keys(self) -> KeyRepository: ...

    @property
    def emails(self) -> EmailRepository: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def campaign_mail(self) -> CampaignMail: ...

    @property
    def quota(self) -> QuotaUsage: ...

    @property
    def activity(self) -> EmailActivity: ...

    @property
    def templates(self) -> TemplateRepository: ...

    @property
    def webhooks(self) -> WebhookRepository: ...

    @property
    def assets(self) -> AssetRepository: ...

    @property
    def users(self) -> UserRepository: ...

    @property
    def imports(self) -> ImportRepository: ...

    @property
    def pacing(self) -> PacingSettings: ...

    @property
    def journeys(self) -> JourneyRepository: ...

    @property
    def inbound(self) -> InboundRepository: ...

    async def migrate(self) -> int:
        """Bring the schema to the newest version (safe from many processes at once); returns the
        version reached. Stores without a schema return 0."""

    async def ping(self) -> None:
        """Touch the database with one cheap read; Unavailable when it cannot answer now."""

    async def close(self) -> None: ...

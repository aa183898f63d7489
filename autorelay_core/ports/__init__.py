"""The ports: what the core needs from the outside world, and what each method guarantees.

Adapters implement these Protocols; `tests/contract/` runs one suite per port over every adapter.
All storage methods are async so that network databases fit; an adapter for an embedded database may
do its (short) work inline. Grouped by concern in this package's modules (mail, records, audience,
webhooks, system, storage); import them from here: `from autorelay_core.ports import Storage`.
"""

from __future__ import annotations

from autorelay_core.ports.audience import (
    CampaignCounts,
    CampaignRepository,
    ContactQuery,
    ContactRepository,
    ImportRepository,
    ListRepository,
    OtpRepository,
    SuppressionRepository,
)
from autorelay_core.ports.mail import (
    ANY_EMAIL,
    CampaignMail,
    Claim,
    EmailActivity,
    EmailFilter,
    EmailRepository,
    Handover,
    Mailer,
    Outbox,
    QuotaUsage,
)
from autorelay_core.ports.records import (
    AssetRepository,
    BlobStore,
    ContentDetector,
    DkimSetup,
    DnsResolver,
    DomainProvisioner,
    DomainRepository,
    IdempotencyStore,
    KeyRepository,
    LimitOverrides,
    PacingSettings,
    ProjectRepository,
    RateLimitStore,
    TemplateRepository,
    UserRepository,
)
from autorelay_core.ports.storage import Storage
from autorelay_core.ports.system import (
    Clock,
    HtmlToText,
    IdGenerator,
    JobQueue,
    Metrics,
    Offload,
    PasswordHasher,
    Sealer,
    Signer,
    TemplateEngine,
)
from autorelay_core.ports.webhooks import DeliveryClaim, NoticeFormat, WebhookPoster, WebhookRepository

__all__ = [
    "ANY_EMAIL",
    "AssetRepository",
    "BlobStore",
    "CampaignCounts",
    "CampaignMail",
    "CampaignRepository",
    "Claim",
    "Clock",
    "ContactQuery",
    "ContactRepository",
    "ContentDetector",
    "DeliveryClaim",
    "DkimSetup",
    "DnsResolver",
    "DomainProvisioner",
    "DomainRepository",
    "EmailActivity",
    "EmailFilter",
    "EmailRepository",
    "Handover",
    "HtmlToText",
    "IdGenerator",
    "IdempotencyStore",
    "ImportRepository",
    "JobQueue",
    "KeyRepository",
    "LimitOverrides",
    "ListRepository",
    "Mailer",
    "Metrics",
    "NoticeFormat",
    "Offload",
    "OtpRepository",
    "Outbox",
    "PacingSettings",
    "PasswordHasher",
    "ProjectRepository",
    "QuotaUsage",
    "RateLimitStore",
    "Sealer",
    "Signer",
    "Storage",
    "SuppressionRepository",
    "TemplateEngine",
    "TemplateRepository",
    "UserRepository",
    "WebhookPoster",
    "WebhookRepository",
]

"""The bundle of ports and settings every use case receives (built by the composition root)."""

from __future__ import annotations

from datetime import timedelta

from attrs import Factory, field, frozen

from autorelay_core.ports import (
    BlobStore,
    Clock,
    ContentDetector,
    DnsResolver,
    DomainProvisioner,
    HtmlToText,
    IdGenerator,
    JobQueue,
    Mailer,
    Metrics,
    NoticeFormat,
    Offload,
    PasswordHasher,
    RateLimitStore,
    Sealer,
    Signer,
    Storage,
    TemplateEngine,
    WebhookPoster,
)
from autorelay_core.usecases.pacing import Pacer


def _default_backoff() -> tuple[timedelta, ...]:
    return tuple(timedelta(seconds=s) for s in (10, 60, 300, 1800, 7200))


# The SPF record a sending domain publishes when this server (its MX) sends the mail itself.
OWN_SPF = "v=spf1 mx ~all"


@frozen
class CoreConfig:
    # How long a worker may hold an email before another may take it over.
    lease: timedelta = timedelta(seconds=60)
    # How long a worker may hold a journey run. Its steps are database writes (an email or a webhook
    # delivery is only queued), so a short lease lets a killed worker's runs go on soon; one that
    # was only slow finds its claim taken and its moves refused, never a step twice.
    journey_lease: timedelta = timedelta(seconds=10)
    # This process, as the holder its leases name ("" for none: its leases just run out). A process
    # that beats (keep_alive) has its leases ended at once when it falls silent.
    holder: str = ""
    # A pending row this long past due has lost its queue task; the reconciler enqueues it again.
    reconcile_grace: timedelta = timedelta(seconds=30)
    # Transient mailer failures are retried after these delays; then the email fails.
    retry_backoff: tuple[timedelta, ...] = field(factory=_default_backoff)
    max_recipients: int = 50
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_schedule_ahead: timedelta = timedelta(days=30)
    # Live sends in 24 h below which bounce and complaint rates never flag an account.
    reputation_min_volume: int = 100
    # How long a receiving destination rests after it answered "try later" (4xx) to one email: as
    # long as that email waits for its first retry, so the retry finds the destination open again.
    destination_backoff: timedelta = timedelta(seconds=10)
    monthly_quota: int = 50_000
    # The shared sender any project may use without a verified domain, capped per day.
    sandbox_sender: str = "hello@autorelay.net"
    sandbox_daily_cap: int = 100
    # Keys derived from the server secret: one for OTP hashes (the sealer has its own).
    otp_key: bytes = b"autorelay-unconfigured-otp-key"
    # Where OTP emails come from (operator setting; not subject to the project's domain checks).
    otp_sender: str = "AutoRelay <hello@autorelay.net>"
    max_import_rows: int = 10_000
    # VERP: with a bounce domain, every message's envelope sender names its email (domain/verp.py).
    bounce_domain: str = ""
    bounce_mx: str = "localhost"  # the host its MX names: where the inbound listener receives
    verp_key: bytes = b"autorelay-unconfigured-verp-key"
    # Whom account-status errors tell a customer to contact.
    support_contact: str = "support@autorelay.net"
    # How live mail leaves, for the log lines of delivery failures ("the smtp mailer") and the
    # metrics' label ("smtp").
    mailer_name: str = "the mailer"
    mailer_label: str = "log"
    # The SMTP relay keeps a client's well-formed Message-ID (help desks thread replies by it);
    # False gives every relayed message one of AutoRelay's own.
    relay_keeps_message_id: bool = True
    # Campaign pace: messages per second per campaign (launch spreads due times by it).
    campaign_rate: float = 100.0
    # Where unsubscribe links point (the public URL of POST/GET /api/v1/unsubscribe), and the
    # mailbox named by List-Unsubscribe's mailto.
    unsubscribe_url: str = "http://localhost:3000/api/v1/unsubscribe"
    unsubscribe_mailto: str = "unsubscribe@localhost"
    # The public URL of the preference page (GET/POST /preferences): `{{ preferences_url }}`.
    preferences_url: str = "http://localhost:3000/preferences"
    # Webhooks to plain http:// and to loopback/private addresses: local development and tests only.
    webhooks_allow_private: bool = False
    # Where open pixels and tracked links point (the public URL of /api/v1/track).
    tracking_url: str = "http://localhost:3000/api/v1/track"
    # Where received attachments' signed download links point (the public URL of /inbound-files).
    files_url: str = "http://localhost:3000/inbound-files"
    # How long received mail is kept (with its raw copy and attachments); None: until deleted.
    keep_received: timedelta | None = None
    # The SPF record a sending domain publishes (the mailer's: SES includes amazonses.com).
    spf_record: str = OWN_SPF


class NoMetrics:
    """Metrics nobody collects (embedding without an exporter, unit tests)."""

    def email_accepted(self, *, test: bool, count: int = 1) -> None:
        pass

    def email_finished(self, outcome: str, *, mailer: str, latency: float | None = None) -> None:
        pass

    def rate_limited(self, endpoint: str) -> None:
        pass

    def webhook_attempt(self, *, ok: bool) -> None:
        pass

    def report_ignored(self, count: int) -> None:
        pass


@frozen
class Deps:
    storage: Storage
    mailer: Mailer
    # Test-mode keys deliver here whatever `mailer` is, so nothing leaves the machine.
    test_mailer: Mailer
    queue: JobQueue
    clock: Clock
    ids: IdGenerator
    templates: TemplateEngine
    html_to_text: HtmlToText
    rate_limits: RateLimitStore
    sealer: Sealer
    signer: Signer
    domain_provisioner: DomainProvisioner
    dns: DnsResolver
    webhook_poster: WebhookPoster
    notice_format: NoticeFormat
    blobs: BlobStore
    content_types: ContentDetector
    offload: Offload
    passwords: PasswordHasher
    config: CoreConfig = field(factory=CoreConfig)
    metrics: Metrics = field(factory=NoMetrics)
    # Pace rules, backoff after deferrals and warm-ups, checked before each delivery (pacing.py).
    pacer: Pacer = field(
        default=Factory(
            lambda deps: Pacer(deps.storage.pacing, deps.rate_limits, deps.config.destination_backoff), takes_self=True
        )
    )

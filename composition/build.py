"""The composition root: the only place that knows which adapters exist and picks them.

`build(settings)` wires ports to adapters and returns a `Services` object; nothing starts until
`Services.start()` is called with the event loop the process runs on.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from datetime import timedelta
from urllib.parse import urlsplit

from adapters.blobs.detect import SignatureDetector
from adapters.blobs.local import LocalBlobs
from adapters.dns.resolver import DnsPythonResolver
from adapters.limits.memory import MemoryRateLimits
from adapters.limits.redis import RedisRateLimits
from adapters.mailers.dkim import DkimSigner, OwnKeys
from adapters.mailers.kept import KeptMessages
from adapters.mailers.log import LogMailer
from adapters.queue.asyncio_queue import AsyncioJobQueue
from adapters.queue.huey_queue import EmbeddedConsumer, HueyJobQueue, make_huey
from adapters.rendering.jinja import JinjaTemplates
from adapters.rendering.text import InscriptisText
from adapters.storage.caches import CachedStorage
from adapters.storage.memory.store import MemoryStorage
from adapters.storage.sqlite.batch import LINGER, SHARED_LINGER
from adapters.storage.sqlite.store import SqliteStorage
from adapters.system.clock_ids import RandomIds, SystemClock
from adapters.system.offload import ThreadOffload
from adapters.system.passwords import Argon2Passwords
from adapters.system.sealing import FernetSealer, derive
from adapters.system.signing import SecretSigner
from adapters.webhooks.payloads import JsonNotices
from adapters.webhooks.poster import HttpWebhookPoster
from autorelay_core.ports import (
    BlobStore,
    Clock,
    DomainProvisioner,
    IdGenerator,
    JobQueue,
    Mailer,
    RateLimitStore,
    Storage,
)
from autorelay_core.usecases.context import OWN_SPF, CoreConfig, Deps
from autorelay_core.usecases.deliver_email import drain
from autorelay_core.usecases.import_contacts import BackgroundImports
from autorelay_core.usecases.notify import BackgroundPosts
from composition.background import run_passes
from composition.private_files import private_dir, private_file
from composition.secret import server_secret
from composition.services import LoopRunner, Services
from composition.settings import Settings

log = logging.getLogger("autorelay")
SES_SPF = "v=spf1 include:amazonses.com ~all"


def _spf(settings: Settings) -> str:
    """The SPF record sending domains publish: the senders the mail really leaves from."""
    if settings.mailer == "ses":
        return SES_SPF
    if settings.mailer == "smtp" and settings.smtp_spf_include:
        return f"v=spf1 include:{settings.smtp_spf_include} ~all"
    return OWN_SPF


def _storage(settings: Settings, serves_pages: bool) -> Storage:
    if settings.database_url == "memory://":
        return MemoryStorage()
    if settings.postgres:
        from adapters.storage.postgres.store import PostgresStorage  # psycopg is an optional extra

        return PostgresStorage(settings.database_url, settings.database_pool_size)
    path = settings.sqlite_path
    assert path is not None  # Settings.check() refused anything else
    linger = SHARED_LINGER if serves_pages else LINGER  # serve's passes share the loop with requests
    return SqliteStorage(
        private_file(path), large_reads=serves_pages, linger=linger, synchronous=settings.sqlite_synchronous
    )


def _blobs(settings: Settings) -> BlobStore:
    if settings.assets_store == "s3":
        from adapters.blobs.s3 import S3Blobs  # boto3 is the s3 extra

        return S3Blobs(
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            public_base=settings.s3_public_url,
            region=settings.s3_region,
            endpoint_url=settings.s3_endpoint_url,
        )
    return LocalBlobs(settings.data_dir / "assets", settings.base_url)


def _ses(settings: Settings, kept: KeptMessages, limits: RateLimitStore) -> tuple[Mailer, DomainProvisioner]:
    from adapters.mailers.ses import SesIdentities, SesMailer, ses_client  # boto3 is the ses extra

    client = ses_client(settings.ses_region, settings.ses_endpoint_url)
    classic = ses_client(settings.ses_region, settings.ses_endpoint_url, api="ses")
    # Every process sharing `limits` keeps together under the account's maximum send rate.
    mailer = SesMailer(client, keep=kept.keep, quota_client=classic, limits=limits)
    return mailer, SesIdentities(client, classic)


def _mailer(
    settings: Settings, log_mailer: LogMailer, storage: Storage, sealer: FernetSealer, kept: KeptMessages
) -> Mailer:
    if settings.mailer == "smtp":
        import ssl

        from adapters.mailers.smtp import SmtpMailer, SmtpSettings  # aiosmtplib is the smtp extra

        context = ssl.create_default_context(cafile=settings.smtp_ca_file or None)
        return SmtpMailer(
            SmtpSettings(
                host=settings.smtp_host,
                port=settings.smtp_port,
                security=settings.smtp_security,
                username=settings.smtp_username,
                password=settings.smtp_password,
                timeout=settings.smtp_timeout_seconds,
                pool_size=settings.smtp_pool_size,
                tls_context=context,
            ),
            signer=DkimSigner(storage.domains, sealer),
            keep=kept.keep,
        )
    return log_mailer


def build(
    settings: Settings,
    *,
    storage: Storage | None = None,
    mailer: Mailer | None = None,
    queue: JobQueue | None = None,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    serves_pages: bool = True,
) -> Services:
    """`serves_pages`: False for a process that only runs jobs (`autorelay worker`), which then
    keeps its database reads small (open_database)."""
    private_dir(settings.data_dir)
    secret = server_secret(settings)
    sealer = FernetSealer(secret)
    if not settings.public_url.startswith("https://") and settings.mailer != "log":
        log.warning(
            "AUTORELAY_PUBLIC_URL is not an https:// URL: mailbox providers only honour one-click "
            "unsubscribe (RFC 8058) over HTTPS"
        )
    stored = storage or _storage(settings, serves_pages)
    # A view: the embedder's storage object is not changed.
    storage = CachedStorage(stored, settings.key_cache_seconds) if settings.key_cache_seconds > 0 else stored
    log_mailer = LogMailer(settings.mail_dir)
    kept = KeptMessages(settings.kept_dir, settings.keep_messages_days)
    rate_limits: RateLimitStore
    if settings.redis_url:
        # Deployments sharing one Redis have their own queue names; their limits are kept apart too
        # (per-IP limits would otherwise be shared by every deployment on the Redis).
        rate_limits = RedisRateLimits(settings.redis_url, prefix=f"{settings.queue_name}:rl:")
    else:
        # The SQL store is shared by every process on the same database; memory is one process's.
        rate_limits = getattr(stored, "rate_limits", None) or MemoryRateLimits()
    provisioner: DomainProvisioner = OwnKeys(sealer)
    if settings.mailer == "ses":
        chosen_mailer, provisioner = _ses(settings, kept, rate_limits)
    else:
        chosen_mailer = _mailer(settings, log_mailer, storage, sealer, kept)
    clock = clock or SystemClock()
    runner = LoopRunner()
    consumer = None

    # The queue runs passes over `deps`, which needs the queue: the closures below look `deps` up
    # when a pass runs, after it has been assigned.
    stopping = threading.Event()
    posts = BackgroundPosts()
    imports = BackgroundImports()
    # Passes inside `serve` share the loop with requests; a worker process's passes do not.
    share = settings.embedded_delivery_share if settings.embedded_workers else 1.0

    def pass_from_thread() -> None:
        runner.run(run_passes(deps, stopping, posts, share, imports), timeout=settings.outbox_lease_seconds * 10)

    if queue is None and settings.database_url == "memory://" and not settings.redis_url:
        # Nothing else can reach an in-memory database, so the queue may live on the loop too.
        queue = AsyncioJobQueue(lambda: drain(deps), clock)
    if queue is None:
        huey_path = None if settings.redis_url else private_file(settings.data_dir / "queue.db")
        huey = make_huey(name=settings.queue_name, sqlite_path=huey_path, redis_url=settings.redis_url or None)
        queue = HueyJobQueue(huey, pass_from_thread)
        if settings.embedded_workers:
            consumer = EmbeddedConsumer(huey, settings.embedded_workers, settings.queue_poll_seconds)

    from adapters.system.metrics import PrometheusMetrics  # after main() chose the multiprocess folder

    metrics = PrometheusMetrics()
    deps = Deps(
        storage=storage,
        mailer=mailer or chosen_mailer,
        test_mailer=log_mailer,
        queue=queue,
        clock=clock,
        ids=ids or RandomIds(),
        templates=JinjaTemplates(),
        html_to_text=InscriptisText(),
        rate_limits=rate_limits,
        sealer=sealer,
        signer=SecretSigner(derive(secret, "sign")),
        domain_provisioner=provisioner,
        dns=DnsPythonResolver(settings.dns_resolver),
        webhook_poster=HttpWebhookPoster(ca_file=settings.webhooks_ca_file),
        notice_format=JsonNotices(),
        blobs=_blobs(settings),
        content_types=SignatureDetector(),
        offload=ThreadOffload(),
        passwords=Argon2Passwords(),
        metrics=metrics,
        config=CoreConfig(
            lease=timedelta(seconds=settings.outbox_lease_seconds),
            holder=f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}",
            reconcile_grace=timedelta(seconds=settings.reconcile_grace_seconds),
            reputation_min_volume=settings.reputation_min_volume,
            destination_backoff=timedelta(seconds=settings.destination_backoff_seconds),
            monthly_quota=settings.monthly_quota,
            sandbox_sender=settings.sandbox_sender,
            sandbox_daily_cap=settings.sandbox_daily_cap,
            otp_key=derive(secret, "otp"),
            verp_key=derive(secret, "verp"),
            bounce_domain=settings.bounce_domain,
            bounce_mx=urlsplit(settings.base_url).hostname or "localhost",
            otp_sender=settings.otp_sender,
            campaign_rate=settings.campaign_rate,
            relay_keeps_message_id=settings.smtp_relay_message_id == "keep",
            mailer_name=f"the {settings.mailer} mailer",
            mailer_label=settings.mailer,
            support_contact=settings.support_contact,
            unsubscribe_url=f"{settings.base_url}/api/v1/unsubscribe",
            preferences_url=f"{settings.base_url}/preferences",
            unsubscribe_mailto=settings.unsubscribe_mailbox,
            tracking_url=f"{settings.base_url}/api/v1/track",
            files_url=f"{settings.base_url}/inbound-files",
            keep_received=timedelta(days=settings.keep_received_days) if settings.keep_received_days else None,
            webhooks_allow_private=settings.webhooks_allow_private,
            spf_record=_spf(settings),
        ),
    )
    services = Services(settings, deps, consumer, runner, stopping, posts, imports)
    services.kept = kept
    services.metrics = metrics
    return services

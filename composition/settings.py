"""Settings: every knob, its environment variable and its default, in one place.

Read only when asked (`Settings.from_env()`), never at import time.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from attrs import field, fields, frozen

from autorelay_core.errors import Invalid

PREFIX = "AUTORELAY_"


class SettingsError(ValueError):
    """A setting has a value that cannot work; the message names the variable."""


def _doc(text: str, default: object = None) -> dict:
    return {"metadata": {"doc": text}, "default": default}


@frozen
class Settings:
    data_dir: Path = field(
        converter=Path, **_doc("Folder for the SQLite database, queue and log mail", "autorelay-data")
    )
    host: str = field(**_doc("Address the HTTP server binds", "127.0.0.1"))
    port: int = field(converter=int, **_doc("Port the HTTP server binds", 3000))
    sqlite_synchronous: str = field(
        **_doc("full (each accepted email is on the disk before the 200) or normal (survives a crash of the"
               " process, not a power cut)", "full")
    )  # fmt: skip
    database_url: str = field(
        **_doc("postgresql://..., sqlite:///PATH or memory:// (default: SQLite in the data dir)", "")
    )
    database_pool_size: int = field(converter=int, **_doc("Most Postgres connections one process opens", 10))
    redis_url: str = field(**_doc("Redis URL for the job queue (default: SQLite queue in the data dir)", ""))
    queue_name: str = field(**_doc("Queue name; deployments sharing one Redis need different names", "autorelay"))
    mailer: str = field(**_doc("How mail leaves: log, smtp or ses", "log"))
    ses_region: str = field(**_doc("AWS region of SES (mailer ses; credentials the usual AWS ways)", "us-east-1"))
    ses_endpoint_url: str = field(**_doc("SES endpoint override (a local SES double)", ""))
    assets_store: str = field(**_doc("Where uploaded assets live: local (the data dir, served here) or s3", "local"))
    s3_bucket: str = field(**_doc("S3 bucket for assets (assets store s3)", ""))
    s3_prefix: str = field(**_doc("Key prefix for assets in the bucket", "assets/"))
    s3_public_url: str = field(**_doc("Public base URL of the bucket or its CDN (default: the bucket's S3 URL)", ""))
    s3_region: str = field(**_doc("AWS region of the bucket", "us-east-1"))
    s3_endpoint_url: str = field(**_doc("S3 endpoint override (MinIO, a local S3 double)", ""))
    ses_topic_arns: str = field(**_doc("Comma-separated SNS topic ARNs whose SES feedback is accepted", ""))
    sns_connect_to: str = field(**_doc("host:port serving the SNS host (tests, air-gapped installs only)", ""))
    sns_ca_file: str = field(**_doc("CA bundle to trust for the SNS host (default: system)", ""))
    smtp_host: str = field(**_doc("SMTP server (mailer smtp)", ""))
    smtp_port: int = field(converter=int, **_doc("SMTP port: 587 for starttls, 465 for tls", 587))
    smtp_security: str = field(**_doc("starttls, tls (implicit, port 465) or none", "starttls"))
    smtp_username: str = field(**_doc("SMTP AUTH user (empty: no AUTH)", ""))
    smtp_password: str = field(repr=False, **_doc("SMTP AUTH password", ""))
    smtp_timeout_seconds: float = field(converter=float, **_doc("SMTP connect and reply timeout", 30))
    smtp_pool_size: int = field(converter=int, **_doc("SMTP connections kept per process (concurrent sends)", 4))
    dns_resolver: str = field(**_doc("Nameserver (host or host:port) for domain checks; default: the system's", ""))
    smtp_ca_file: str = field(**_doc("CA bundle to trust for the SMTP server's certificate (default: system)", ""))
    smtp_spf_include: str = field(
        **_doc("SPF include of the SMTP relay mail leaves through (its provider's, e.g. spf.example-relay.com),"
               " for the SPF record sending domains publish; default: this server's MX", "")
    )  # fmt: skip
    secret_key: str = field(
        repr=False,
        **_doc("Server secret (32+ characters) for OTP hashes and sealing; default: created in the data dir", ""),
    )
    otp_sender: str = field(**_doc("From address of OTP emails", "AutoRelay <hello@autorelay.net>"))
    embedded_workers: int = field(
        converter=int, **_doc("Queue consumer threads inside `serve`; 0 when separate workers run", 1)
    )
    delivery_process: str = field(
        **_doc("auto, on or off: `serve` delivers in an `autorelay worker` process it runs (auto: when the"
               " machine has more than one core and serve delivers at all)", "auto")
    )  # fmt: skip
    embedded_delivery_share: float = field(
        converter=float, **_doc("Share of a busy `serve` loop that in-process deliveries may take", 0.25)
    )
    worker_threads: int = field(converter=int, **_doc("Consumer threads per `autorelay worker` process", 8))
    queue_poll_seconds: float = field(converter=float, **_doc("How often an idle consumer polls the queue", 0.1))
    outbox_lease_seconds: float = field(converter=float, **_doc("How long a worker may hold an email", 60))
    reconcile_interval_seconds: float = field(converter=float, **_doc("How often lost outbox jobs are looked for", 10))
    heartbeat_seconds: float = field(
        converter=float,
        **_doc("How often a process says it is alive; the emails of one silent for 2.5 beats are taken back", 1),
    )
    reconcile_grace_seconds: float = field(
        converter=float, **_doc("How long past due a pending email waits before it is enqueued again", 30)
    )
    key_cache_seconds: float = field(
        converter=float,
        **_doc("Seconds a process trusts a looked-up key (revocations elsewhere wait this long)", 1),
    )
    reputation_min_volume: int = field(
        converter=int, **_doc("Live sends in 24 h below which bounce/complaint rates never flag a project", 100)
    )
    destination_backoff_seconds: float = field(
        converter=float,
        **_doc('How long a receiving destination rests after a 4xx "try later" (its mail waits, others go)', 10),
    )
    public_url: str = field(
        **_doc("Public base URL of this server, for unsubscribe and tracking links (https://... in production)", "")
    )
    unsubscribe_mailto: str = field(
        **_doc("Mailbox in List-Unsubscribe's mailto link (default: unsubscribe@ the public host)", "")
    )
    campaign_rate: float = field(converter=float, **_doc("Campaign pace: messages per second per campaign", 100))
    monthly_quota: int = field(converter=int, **_doc("Live emails a project may send per calendar month", 50_000))
    sandbox_sender: str = field(**_doc("Shared sender any project may use unverified", "hello@autorelay.net"))
    sandbox_daily_cap: int = field(converter=int, **_doc("Emails per day per project from the sandbox sender", 100))
    max_body_bytes: int = field(converter=int, **_doc("Largest accepted request body", 16 * 1024 * 1024))
    trusted_proxies: str = field(
        **_doc("Comma-separated proxy addresses or networks whose X-Forwarded-For is believed (default: none)", "")
    )
    header_timeout_seconds: float = field(
        converter=float, **_doc("Seconds a client has to send a request's line and headers", 10)
    )
    body_timeout_seconds: float = field(converter=float, **_doc("Seconds a client has to send a request's body", 30))
    keep_messages_days: int = field(
        converter=int,
        **_doc("Days a copy of every message that left is kept for the dashboard's download (0: none)", 7),
    )
    keep_received_days: int = field(
        converter=int,
        **_doc("Days received mail is kept, with its raw copy and attachments (0: until deleted)", 0),
    )
    max_connections: int = field(
        converter=int, **_doc("Connections and requests `serve` handles at once; past it, 503", 1000)
    )
    webhooks_allow_private: bool = field(
        converter=lambda v: str(v).lower() in {"1", "true", "yes"},
        **_doc("Let webhooks use plain http:// and loopback/private addresses (local development, tests)", False),
    )
    webhooks_ca_file: str = field(
        **_doc("CA bundle to trust for webhook endpoints' certificates (default: system)", "")
    )
    bounce_domain: str = field(
        **_doc("Domain of the VERP return paths (b+<token>@it) that bounces and complaints come back to", "")
    )
    inbound_listen: str = field(
        **_doc(
            "host:port where `serve` also receives mail: bounces and complaints for the bounce domain, and mail"
            " for the projects' receiving domains (default: off)",
            "",
        )
    )
    bounce_imap_url: str = field(
        repr=False,
        **_doc("imaps://user:password@host/INBOX[?processed=Folder]: a mailbox polled for bounces (default: off)", ""),
    )
    bounce_imap_poll_seconds: float = field(
        converter=float, **_doc("How often the bounce mailbox is read when it had nothing new", 30)
    )
    bounce_imap_ca_file: str = field(
        **_doc("CA bundle to trust for the bounce mailbox's certificate (default: system)", "")
    )
    smtp_relay_listen: str = field(
        **_doc("host:port where `serve` also runs the SMTP submission relay (default: off)", "")
    )
    smtp_relay_tls: str = field(
        **_doc("starttls (a plain port that requires STARTTLS) or implicit (TLS from the first byte)", "starttls")
    )
    smtp_relay_cert: str = field(
        **_doc("The relay's TLS certificate (PEM); with no cert and key, a self-signed one in the data dir", "")
    )
    smtp_relay_key: str = field(**_doc("The relay's TLS private key (PEM)", ""))
    smtp_relay_tls_names: str = field(
        **_doc("More host names or addresses (comma-separated) the self-signed certificate carries", "")
    )
    smtp_relay_message_id: str = field(
        **_doc("keep (a client's well-formed Message-ID leaves as it is) or replace (AutoRelay's own)", "keep")
    )
    smtp_relay_auth_seconds: float = field(
        converter=float, **_doc("Seconds a relay client has from connecting to AUTH before it is closed", 20)
    )
    support_contact: str = field(
        **_doc("Whom account-status errors (flagged, suspended) tell customers to contact", "support@autorelay.net")
    )
    metrics_token: str = field(
        **_doc("Bearer token GET /metrics requires; without one it answers only local clients", "")
    )
    metrics_allow: str = field(**_doc("Client addresses GET /metrics answers without a token", "127.0.0.1,::1"))
    metrics_dir: str = field(
        **_doc("Folder where every process (serve, workers) writes its metrics, for serve to add up", "")
    )
    log_level: str = field(**_doc("Python logging level", "INFO"))
    log_format: str = field(**_doc("text (a readable line) or json (one JSON object per line)", "text"))
    access_log: bool = field(
        converter=lambda v: str(v).lower() in {"1", "true", "yes"}, **_doc("Log every request", False)
    )

    @property
    def relay_address(self) -> tuple[str, int]:
        return _listen(self.smtp_relay_listen, "SMTP_RELAY_LISTEN", "0.0.0.0:587")

    @property
    def bounce_mailbox(self):
        from adapters.returned_mail.mailbox import ImapSource

        try:
            return ImapSource.parse(self.bounce_imap_url)
        except Invalid as error:
            raise SettingsError(f"{PREFIX}BOUNCE_IMAP_URL: {error}") from None

    @property
    def inbound_address(self) -> tuple[str, int]:
        return _listen(self.inbound_listen, "INBOUND_LISTEN", "0.0.0.0:25")

    @property
    def sqlite_path(self) -> Path | None:
        if not self.database_url:
            return self.data_dir / "autorelay.db"
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        return None

    @property
    def postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    @property
    def base_url(self) -> str:
        """Where the outside world reaches this server: the setting, or the bound address."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def unsubscribe_mailbox(self) -> str:
        return self.unsubscribe_mailto or f"unsubscribe@{urlsplit(self.base_url).hostname}"

    @property
    def proxies(self) -> list[str]:
        return [item.strip() for item in self.trusted_proxies.split(",") if item.strip()]

    @property
    def kept_dir(self) -> Path:
        return self.data_dir / "messages"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @classmethod
    def defaults(cls, **overrides: object) -> Settings:
        """The embedded defaults (what `autorelay serve` runs on with no environment), with the
        given fields changed and checked: `Settings.defaults(database_url="memory://")`."""
        return cls.from_env({}, **overrides)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for item in fields(cls):
            variable = PREFIX + item.name.upper()
            if variable in environ:
                values[item.name] = environ[variable]
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            settings = cls(**values)  # type: ignore[arg-type]  # strings from the environment: converters type them
        except (TypeError, ValueError) as error:
            raise SettingsError(f"invalid AutoRelay setting: {error}") from None
        settings.check()
        return settings

    def check(self) -> None:
        if self.mailer not in {"log", "smtp", "ses"}:
            raise SettingsError(f"{PREFIX}MAILER={self.mailer!r} is not a known mailer; use: log, smtp or ses")
        if self.smtp_spf_include and not re.fullmatch(r"[A-Za-z0-9_.-]{1,253}", self.smtp_spf_include):
            raise SettingsError(
                f"{PREFIX}SMTP_SPF_INCLUDE={self.smtp_spf_include!r} is not a host name (write it without"
                " 'include:', e.g. spf.example-relay.com)"
            )
        if self.mailer == "ses":
            try:
                import boto3
            except ImportError:
                raise SettingsError(
                    f"{PREFIX}MAILER=ses needs boto3: .venv/bin/pip install -e '.[ses]' in the checkout"
                ) from None
        if self.mailer == "smtp":
            if not self.smtp_host:
                raise SettingsError(f"{PREFIX}MAILER=smtp needs {PREFIX}SMTP_HOST")
            if self.smtp_security not in {"starttls", "tls", "none"}:
                raise SettingsError(f"{PREFIX}SMTP_SECURITY must be starttls, tls or none, not {self.smtp_security!r}")
            if bool(self.smtp_username) != bool(self.smtp_password):
                raise SettingsError(f"{PREFIX}SMTP_USERNAME and {PREFIX}SMTP_PASSWORD go together")
            if self.smtp_pool_size < 1:
                raise SettingsError(f"{PREFIX}SMTP_POOL_SIZE must be >= 1")
        if self.assets_store not in {"local", "s3"}:
            raise SettingsError(f"{PREFIX}ASSETS_STORE={self.assets_store!r} is not known; use: local or s3")
        if self.assets_store == "s3":
            if not self.s3_bucket:
                raise SettingsError(f"{PREFIX}ASSETS_STORE=s3 needs {PREFIX}S3_BUCKET")
            try:
                import boto3  # noqa: F401
            except ImportError:
                raise SettingsError(
                    f"{PREFIX}ASSETS_STORE=s3 needs boto3: .venv/bin/pip install -e '.[s3]' in the checkout"
                ) from None
        url = self.database_url
        if url and not (url.startswith("sqlite:///") or url == "memory://" or self.postgres):
            shown = url.split("@")[-1]  # never echo a password
            raise SettingsError(
                f"{PREFIX}DATABASE_URL=...{shown!r}: expected postgresql://USER@HOST/DB, sqlite:///PATH or memory://"
            )
        if self.public_url:
            parts = urlsplit(self.public_url)
            if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
                raise SettingsError(f"{PREFIX}PUBLIC_URL must be an http(s) base URL such as https://mail.example.com")
        if self.unsubscribe_mailto and "@" not in self.unsubscribe_mailto:
            raise SettingsError(f"{PREFIX}UNSUBSCRIBE_MAILTO must be an email address")
        if self.campaign_rate <= 0:
            raise SettingsError(f"{PREFIX}CAMPAIGN_RATE must be above 0")
        if self.database_pool_size < 1:
            raise SettingsError(f"{PREFIX}DATABASE_POOL_SIZE must be >= 1")
        if not 0 < self.embedded_delivery_share <= 1:
            raise SettingsError(f"{PREFIX}EMBEDDED_DELIVERY_SHARE must be in (0, 1]")
        for proxy in self.proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise SettingsError(
                    f"{PREFIX}TRUSTED_PROXIES: {proxy!r} is not an IP address or network (e.g. 10.0.0.0/8)"
                ) from None
        if self.keep_messages_days < 0:
            raise SettingsError(f"{PREFIX}KEEP_MESSAGES_DAYS must be 0 or more")
        if self.keep_received_days < 0:
            raise SettingsError(f"{PREFIX}KEEP_RECEIVED_DAYS must be 0 or more")
        if self.smtp_relay_listen:
            self.relay_address  # noqa: B018 (checks the form)
        if self.bounce_imap_url:
            self.bounce_mailbox  # noqa: B018 (checks the form)
            if not self.bounce_domain:
                raise SettingsError(f"{PREFIX}BOUNCE_IMAP_URL needs {PREFIX}BOUNCE_DOMAIN (where its mail was sent)")
            if self.bounce_imap_poll_seconds <= 0:
                raise SettingsError(f"{PREFIX}BOUNCE_IMAP_POLL_SECONDS must be > 0")
        if self.inbound_listen:
            self.inbound_address  # noqa: B018 (checks the form)
        if self.log_format not in {"text", "json"}:
            raise SettingsError(f"{PREFIX}LOG_FORMAT must be text or json, not {self.log_format!r}")
        if self.sqlite_synchronous not in {"full", "normal"}:
            raise SettingsError(f"{PREFIX}SQLITE_SYNCHRONOUS must be full or normal, not {self.sqlite_synchronous!r}")
        if self.smtp_relay_message_id not in {"keep", "replace"}:
            raise SettingsError(
                f"{PREFIX}SMTP_RELAY_MESSAGE_ID must be keep or replace, not {self.smtp_relay_message_id!r}"
            )
        if self.smtp_relay_tls not in {"starttls", "implicit"}:
            raise SettingsError(f"{PREFIX}SMTP_RELAY_TLS must be starttls or implicit, not {self.smtp_relay_tls!r}")
        if bool(self.smtp_relay_cert) != bool(self.smtp_relay_key):
            raise SettingsError(f"{PREFIX}SMTP_RELAY_CERT and {PREFIX}SMTP_RELAY_KEY go together")
        if self.header_timeout_seconds <= 0 or self.body_timeout_seconds <= 0 or self.max_connections < 1:
            raise SettingsError(
                f"{PREFIX}HEADER_TIMEOUT_SECONDS, {PREFIX}BODY_TIMEOUT_SECONDS and {PREFIX}MAX_CONNECTIONS must be > 0"
            )
        if self.delivery_process not in {"auto", "on", "off"}:
            raise SettingsError(f"{PREFIX}DELIVERY_PROCESS must be auto, on or off, not {self.delivery_process!r}")
        if self.delivery_process == "on" and self.database_url == "memory://":
            raise SettingsError(
                f"{PREFIX}DELIVERY_PROCESS=on needs a database another process can open (not memory://)"
            )
        if self.embedded_workers < 0 or self.worker_threads < 1:
            raise SettingsError(f"{PREFIX}EMBEDDED_WORKERS must be >= 0 and {PREFIX}WORKER_THREADS >= 1")
        if self.heartbeat_seconds < 0.1:
            # A beat of zero would take every process for silent and end all leases at every turn.
            raise SettingsError(f"{PREFIX}HEARTBEAT_SECONDS must be at least 0.1")

    def separate_delivery(self, cores: int | None = None) -> bool:
        """Whether `serve` delivers in a worker process of its own (DeliveryProcess) rather than in
        threads beside its requests."""
        if self.embedded_workers == 0 or self.delivery_process == "off" or self.database_url == "memory://":
            return False
        return self.delivery_process == "on" or (cores if cores is not None else usable_cores()) > 1

    @classmethod
    def describe(cls) -> list[tuple[str, str, object]]:
        """(variable, meaning, default) for every setting, for `--help` (docs/CONFIGURATION.md explains them)."""
        return [(PREFIX + f.name.upper(), f.metadata["doc"], f.default) for f in fields(cls)]


def usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _listen(value: str, name: str, example: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"{PREFIX}{name} must be host:port, such as {example}")
    return host.strip("[]"), int(port)

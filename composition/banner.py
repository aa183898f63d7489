"""What `serve` and `worker` say about themselves when they start: which database, queue and mailer
are in use, and, plainly, when nothing will leave the machine. Never a password: URLs are shown
without their credentials."""

from __future__ import annotations

from urllib.parse import urlsplit

from composition.settings import Settings


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def describe(settings: Settings) -> list[str]:
    if settings.postgres:
        database = f"PostgreSQL at {_without_credentials(settings.database_url)}"
    elif settings.database_url == "memory://":
        database = "in memory (nothing is kept when the process stops)"
    else:
        database = f"SQLite at {settings.sqlite_path}"
    queue = (
        f"Redis at {_without_credentials(settings.redis_url)} ({settings.queue_name})"
        if settings.redis_url
        else "SQLite queue in the data dir"
    )
    if settings.mailer == "smtp":
        mailer = f"SMTP to {settings.smtp_host}:{settings.smtp_port} ({settings.smtp_security})"
    elif settings.mailer == "ses":
        mailer = f"Amazon SES ({settings.ses_region})"
    else:
        mailer = (
            f"the log mailer: NOTHING LEAVES THIS MACHINE; messages are written to {settings.mail_dir}"
            " (set AUTORELAY_MAILER=smtp or ses to deliver)"
        )
    return [f"  database: {database}", f"  queue:    {queue}", f"  mailer:   {mailer}"]

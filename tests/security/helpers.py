"""What the security tests read behind the API's back: the server's database and message files."""

from __future__ import annotations

import email
import email.policy
import json
import sqlite3
from pathlib import Path

from tests.e2e.server import Server, backend_settings


def postgres_url(server: Server) -> str:
    """The server's PostgreSQL URL under the postgres profile; "" on the embedded one."""
    return backend_settings(server.data_dir).get("AUTORELAY_DATABASE_URL", "")


def set_stored_subject(server: Server, email_id: str, subject: str) -> None:
    """Rewrite a stored email's subject behind the API's back, as a row written by an older
    release (before the checks at the door) could hold it."""
    url = postgres_url(server)
    if url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(  # the subject is content: written once, in email_content
                "UPDATE email_content c SET content = jsonb_set(c.content::jsonb, '{subject}', %s::jsonb)::text"
                " FROM emails m WHERE m.seq = c.seq AND m.id = %s",
                (json.dumps(subject), email_id),
            )
        return
    with sqlite3.connect(server.data_dir / "autorelay.db", timeout=10) as conn:
        conn.execute(
            "UPDATE email_content SET content = json_set(content, '$.subject', ?)"
            " WHERE seq = (SELECT seq FROM emails WHERE id = ?)",
            (subject, email_id),
        )


def message_file(server: Server, email_id: str) -> Path:
    return server.data_dir / "mail" / f"{email_id}.eml"


def parsed_message(path: Path) -> email.message.EmailMessage:
    """The written message, parsed; fails on any parsing defect."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    defects = [*message.defects, *(d for part in message.walk() for d in part.defects)]
    assert not defects, defects
    return message

"""Migration 22 moves what an email is (bodies, attachments, the relayed message) out of its record
into email_content; emails stored before it read back whole, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3

import orjson
import pytest

from adapters.storage import codec
from autorelay_core.domain.emails import Attachment, EmailStatus
from tests import backends
from tests.contract.test_storage import new_email


def _stored_before() -> tuple:
    """An email as the code before migration 22 stored it: every field in one payload."""
    email = new_email(
        html="<p>Olá, “quotes” ; and a ; semicolon</p>",
        text=None,
        attachments=(Attachment(filename="a.pdf", content=b"%PDF-\x00\xff", content_type="application/pdf"),),
        raw=b"Subject: relayed\r\n\r\nbody\r\n",
        status=EmailStatus.SENT,
        provider_message_id="<p-1@mx>",
        opens=2,
    )
    return email, orjson.dumps(codec.converter.unstructure(email)).decode()


def test_sqlite_emails_stored_before_read_back_whole(tmp_path, monkeypatch):
    from adapters.storage.sqlite import schema as sqlite_schema
    from adapters.storage.sqlite.store import SqliteStorage

    email, payload = _stored_before()
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", sqlite_schema.MIGRATIONS[:21])
    assert sqlite_schema.migrate(conn) == 21
    conn.execute(
        "INSERT INTO emails (id, project_id, status, test, payload, created_at, delivery, due_at)"
        " VALUES (?, ?, 'sent', 0, ?, ?, 'done', 0)",
        (email.id, email.project_id, payload, email.created_at.isoformat()),
    )
    conn.close()
    monkeypatch.undo()
    storage = SqliteStorage(tmp_path / "old.db")

    async def read() -> None:
        try:
            assert await storage.emails.get(email.project_id, email.id) == email
        finally:
            await storage.close()

    asyncio.run(read())
    (record,) = sqlite3.connect(tmp_path / "old.db").execute("SELECT payload FROM emails").fetchone()
    assert "html" not in orjson.loads(record), "the record no longer carries the bodies"


@pytest.mark.skipif(not backends.POSTGRES_URL, reason="AUTORELAY_TEST_POSTGRES_URL is not set")
def test_postgres_emails_stored_before_read_back_whole(monkeypatch):
    from adapters.storage.postgres import schema as pg_schema
    from adapters.storage.postgres.store import PostgresStorage

    email, payload = _stored_before()
    schema, url = backends.new_postgres_schema()

    async def scenario() -> None:
        import psycopg

        monkeypatch.setattr(pg_schema, "MIGRATIONS", pg_schema.MIGRATIONS[:21])
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            assert await pg_schema.migrate(conn) == 21
            await conn.execute(
                "INSERT INTO emails (id, project_id, status, test, payload, created_at, delivery, due_at)"
                " VALUES (%s, %s, 'sent', false, %s::jsonb, %s, 'done', now())",
                (email.id, email.project_id, payload, email.created_at),
            )
        monkeypatch.undo()
        storage = PostgresStorage(url)
        try:
            assert await storage.migrate() == len(pg_schema.MIGRATIONS)
            assert await storage.emails.get(email.project_id, email.id) == email
            (record,) = await storage.db.fetchone("SELECT payload FROM emails")
            assert "html" not in record
        finally:
            await storage.close()

    try:
        asyncio.run(scenario())
    finally:
        backends.drop_postgres_schema(schema)

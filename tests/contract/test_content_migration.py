"""Migrations 22 and 24 move what an email is out of its record into email_content (22: bodies,
attachments, the relayed message; 24: everything but status, counters, last error and provider id).
Emails stored before either read back whole, on SQLite and on PostgreSQL, and stay whole when a
later event rewrites their record."""

from __future__ import annotations

import asyncio
import sqlite3

import orjson
import pytest
from attrs import evolve

from adapters.storage import codec
from autorelay_core.domain.emails import Attachment, Email, EmailStatus, EventType
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.ports import RECORD_FIELDS, EmailFilter
from tests import backends
from tests.contract.test_storage import NOW, new_email

_BODIES = ("html", "text", "attachments", "raw")  # what migration 22 moved


def _email() -> Email:
    return new_email(
        html="<p>Olá, “quotes” ; and a ; semicolon</p>",
        text=None,
        attachments=(Attachment(filename="a.pdf", content=b"%PDF-\x00\xff", content_type="application/pdf"),),
        raw=b"Subject: relayed\r\n\r\nbody\r\n",
        status=EmailStatus.SENT,
        provider_message_id="<p-1@mx>",
        opens=2,
        headers={"List-Unsubscribe": "<https://example.com/u>"},
        tags={"plan": "pro", "trial": False, "seats": None},
        cc=("Cé <c@example.com>",),
        test=True,
    )


def _rows(email: Email, version: int) -> tuple[str, str | None]:
    """The payload (and content, from 22 on) as the code of that version stored them."""
    everything = codec.converter.unstructure(email)
    if version < 22:
        return orjson.dumps(everything).decode(), None
    record = {k: v for k, v in everything.items() if k not in _BODIES}
    content = {k: v for k, v in everything.items() if k in _BODIES}
    return orjson.dumps(record).decode(), orjson.dumps(content).decode()


async def _found(storage, email: Email) -> bool:
    """Whether the log's search finds the email by a cc address and by a tag, and not by a word it lacks."""
    found = []
    for words in ("c@example.com", "plan pro", "invoice"):
        page = await storage.emails.page(email.project_id, CursorRequest(limit=5), EmailFilter(words=words))
        found.append([e.id for e in page.items])
    return found == [[email.id], [email.id], []]


def _opened(email: Email) -> tuple[Email, list]:
    changed = evolve(email)
    return changed, [changed.record(EventType.OPENED, NOW)]


@pytest.mark.parametrize("version", [21, 23])
def test_sqlite_emails_stored_before_read_back_whole(tmp_path, monkeypatch, version):
    from adapters.storage.sqlite import schema as sqlite_schema
    from adapters.storage.sqlite.store import SqliteStorage

    email = _email()
    payload, content = _rows(email, version)
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", sqlite_schema.MIGRATIONS[:version])
    assert sqlite_schema.migrate(conn) == version
    conn.execute(
        "INSERT INTO emails (id, project_id, status, test, payload, created_at, delivery, due_at)"
        " VALUES (?, ?, 'sent', 1, ?, ?, 'done', 0)",
        (email.id, email.project_id, payload, email.created_at.isoformat()),
    )
    if content is not None:
        conn.execute("INSERT INTO email_content (seq, content) VALUES (last_insert_rowid(), ?)", (content,))
    conn.close()
    monkeypatch.undo()
    storage = SqliteStorage(tmp_path / "old.db")
    changed, events = _opened(email)

    async def read() -> None:
        try:
            assert await storage.emails.get(email.project_id, email.id) == email
            assert await _found(storage, email), "migration 27 indexes mail stored before it"
            assert await storage.emails.record(changed, events)
            assert await storage.emails.get(email.project_id, email.id) == changed
        finally:
            await storage.close()

    asyncio.run(read())
    (record,) = sqlite3.connect(tmp_path / "old.db").execute("SELECT payload FROM emails").fetchone()
    assert set(orjson.loads(record)) == set(RECORD_FIELDS), "the record keeps only what delivery rewrites"


@pytest.mark.skipif(not backends.POSTGRES_URL, reason="AUTORELAY_TEST_POSTGRES_URL is not set")
@pytest.mark.parametrize("version", [21, 23])
def test_postgres_emails_stored_before_read_back_whole(monkeypatch, version):
    from adapters.storage.postgres import schema as pg_schema
    from adapters.storage.postgres.store import PostgresStorage

    email = _email()
    payload, content = _rows(email, version)
    changed, events = _opened(email)
    schema, url = backends.new_postgres_schema()

    async def scenario() -> None:
        import psycopg

        monkeypatch.setattr(pg_schema, "MIGRATIONS", pg_schema.MIGRATIONS[:version])
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            assert await pg_schema.migrate(conn) == version
            cursor = await conn.execute(
                "INSERT INTO emails (id, project_id, status, test, payload, created_at, delivery, due_at)"
                " VALUES (%s, %s, 'sent', true, %s::jsonb, %s, 'done', now()) RETURNING seq",
                (email.id, email.project_id, payload, email.created_at),
            )
            (seq,) = await cursor.fetchone()
            if content is not None:
                await conn.execute("INSERT INTO email_content (seq, content) VALUES (%s, %s)", (seq, content))
        monkeypatch.undo()
        storage = PostgresStorage(url)
        try:
            assert await storage.migrate() == len(pg_schema.MIGRATIONS)
            assert await storage.emails.get(email.project_id, email.id) == email
            assert await _found(storage, email), "migration 27 indexes mail stored before it"
            assert await storage.emails.record(changed, events)
            assert await storage.emails.get(email.project_id, email.id) == changed
            (record,) = await storage.db.fetchone("SELECT payload FROM emails")
            assert set(record) == set(RECORD_FIELDS)
        finally:
            await storage.close()

    try:
        asyncio.run(scenario())
    finally:
        backends.drop_postgres_schema(schema)

"""The two SQL schemas, each built by its own migrations, agree table by table: the same tables, the
same columns, the same NOT NULL columns and primary keys. Types differ by dialect and are not
compared. Also: SQLite's migrations are split by SQLite's own parser, not at every ";"."""

from __future__ import annotations

import asyncio

import pytest

from adapters.storage.sqlite.database import open_database
from adapters.storage.sqlite.schema import statements
from tests import backends

# Bookkeeping each backend keeps its own way (SQLite: PRAGMA user_version).
_OWN = {"schema_migrations"}
# Full-text indexes, each backend's own kind: SQLite's are FTS5 virtual tables (and the shadow
# tables FTS5 keeps them in); PostgreSQL's are a tsvector column and GIN or trigram indexes.
_POSTGRES_SEARCH_COLUMNS = {("email_content", "words")}


def _sqlite_schema(path) -> dict[str, tuple[frozenset[str], frozenset[str], tuple[str, ...]]]:
    conn = open_database(path)[0].conn
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        virtual = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")]
        found = {}
        for table in tables:
            if table.startswith("sqlite_") or any(table == v or table.startswith(f"{v}_") for v in virtual):
                continue
            info = conn.execute(f"PRAGMA table_info({table})").fetchall()  # cid, name, type, notnull, default, pk
            columns = frozenset(c[1] for c in info)
            # SQLite lets a primary key column hold NULL unless it says NOT NULL; count pk columns as required.
            required = frozenset(c[1] for c in info if c[3] or c[5])
            primary = tuple(c[1] for c in sorted((c for c in info if c[5]), key=lambda c: c[5]))
            found[table] = (columns, required, primary)
        return found
    finally:
        conn.close()


async def _postgres_schema(url: str) -> dict[str, tuple[frozenset[str], frozenset[str], tuple[str, ...]]]:
    from adapters.storage.postgres.store import PostgresStorage

    storage = PostgresStorage(url)
    try:
        await storage.migrate()
        rows = await storage.db.fetchall(
            "SELECT table_name, column_name, is_nullable = 'NO' FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
        )
        keys = await storage.db.fetchall(
            "SELECT k.table_name, k.column_name FROM information_schema.table_constraints c"
            " JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name"
            " AND k.table_schema = c.table_schema WHERE c.constraint_type = 'PRIMARY KEY'"
            " AND c.table_schema = current_schema() ORDER BY k.table_name, k.ordinal_position"
        )
    finally:
        await storage.close()
    columns: dict[str, set[str]] = {}
    required: dict[str, set[str]] = {}
    for table, column, not_null in rows:
        if (table, column) in _POSTGRES_SEARCH_COLUMNS:
            continue
        columns.setdefault(table, set()).add(column)
        if not_null:
            required.setdefault(table, set()).add(column)
    primary: dict[str, list[str]] = {}
    for table, column in keys:
        primary.setdefault(table, []).append(column)
    return {
        t: (frozenset(cols), frozenset(required.get(t, ())), tuple(primary.get(t, ()))) for t, cols in columns.items()
    }


@pytest.mark.skipif(not backends.POSTGRES_URL, reason="AUTORELAY_TEST_POSTGRES_URL is not set")
def test_sqlite_and_postgres_schemas_agree_table_by_table(tmp_path):
    schema, url = backends.new_postgres_schema()
    try:
        postgres = asyncio.run(_postgres_schema(url))
    finally:
        backends.drop_postgres_schema(schema)
    sqlite = _sqlite_schema(tmp_path / "agree.db")
    postgres = {t: shape for t, shape in postgres.items() if t not in _OWN}
    assert sorted(sqlite) == sorted(postgres)
    for table in sorted(sqlite):
        s_columns, s_required, s_primary = sqlite[table]
        p_columns, p_required, p_primary = postgres[table]
        assert s_columns == p_columns, f"{table}: columns differ"
        assert s_primary == p_primary, f"{table}: primary keys differ"
        assert s_required == p_required, f"{table}: NOT NULL columns differ"


def test_a_semicolon_inside_a_literal_or_a_trigger_does_not_split_a_migration():
    script = """
    CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL DEFAULT 'a; b');
    CREATE TRIGGER notes_touch AFTER INSERT ON notes BEGIN
        UPDATE notes SET body = body || ';' WHERE id = NEW.id;
    END;
    INSERT INTO notes (body) VALUES ('x; y');
    """
    found = statements(script)
    assert len(found) == 3
    assert found[1].startswith("CREATE TRIGGER") and found[1].endswith("END;")


def test_a_migration_that_ends_mid_statement_is_refused():
    with pytest.raises(ValueError, match="incomplete statement"):
        statements("CREATE TABLE a (id INTEGER);\nCREATE TABLE b (id")


def test_rate_limit_overrides_stored_by_route_are_renamed_to_operations(tmp_path, monkeypatch):
    """Migration 21: an operator's override saved before the core named operations keeps working."""
    import sqlite3

    from adapters.storage.sqlite import schema as sqlite_schema

    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", sqlite_schema.MIGRATIONS[:20])
    assert sqlite_schema.migrate(conn) == 20
    conn.execute("INSERT INTO limit_overrides VALUES ('prj_1', 'POST /api/v1/emails', 1000, 60)")
    monkeypatch.undo()
    assert sqlite_schema.migrate(conn) == len(sqlite_schema.MIGRATIONS)
    assert conn.execute("SELECT endpoint FROM limit_overrides").fetchall() == [("emails.send",)]

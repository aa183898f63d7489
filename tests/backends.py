"""Which shared backends the tests may use, and fresh, isolated spaces in them.

- AUTORELAY_TEST_POSTGRES_URL: a PostgreSQL database the tests may create schemas in. When set, the
  contract suites also run over the Postgres adapters.
- AUTORELAY_TEST_REDIS_URL: a Redis database the tests may write to (keys are prefixed per test).
- AUTORELAY_TEST_PROFILE=postgres: the end-to-end servers run on Postgres + Redis (both URLs above
  needed) instead of the embedded SQLite defaults. Same tests; only the servers' settings differ.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

POSTGRES_URL = os.environ.get("AUTORELAY_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("AUTORELAY_TEST_REDIS_URL", "")
PROFILE = os.environ.get("AUTORELAY_TEST_PROFILE", "embedded")

if PROFILE not in {"embedded", "postgres"}:
    raise RuntimeError(f"AUTORELAY_TEST_PROFILE={PROFILE!r}: expected embedded or postgres")
if PROFILE == "postgres" and not (POSTGRES_URL and REDIS_URL):
    raise RuntimeError("AUTORELAY_TEST_PROFILE=postgres needs AUTORELAY_TEST_POSTGRES_URL and AUTORELAY_TEST_REDIS_URL")


def with_search_path(url: str, schema: str) -> str:
    """The URL with the connection's search_path set to `schema` (libpq's `options`)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def new_postgres_schema() -> tuple[str, str]:
    """Create an empty schema; returns (its name, a URL whose connections use it)."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema, with_search_path(POSTGRES_URL, schema)


def drop_postgres_schema(schema: str) -> None:
    """Drop a test's schema. A session left idle in a transaction that touched it (a process that
    went away badly) would hold the drop for as long as it lives: after a short wait, such
    sessions are ended, named in a warning, and the drop is tried again."""
    import warnings

    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '15s'")
        try:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            return
        except psycopg.errors.LockNotAvailable:
            pass
        blockers = conn.execute(
            "SELECT pid, state, now() - xact_start, left(query, 160) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND datname = current_database() AND state = 'idle in transaction'"
            " AND now() - state_change > interval '10 seconds'"  # a live session is never idle that long
        ).fetchall()
        for pid, state, held, query in blockers:
            warnings.warn(f"ended a session {state} for {held} (last query: {query}) to drop {schema}", stacklevel=2)
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        conn.execute("SET lock_timeout = 0")
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


_SERVER_SCHEMAS: list[str] = []


def drop_server_schemas() -> None:
    while _SERVER_SCHEMAS:
        drop_postgres_schema(_SERVER_SCHEMAS.pop())


def server_settings() -> dict[str, str]:
    """Settings for one end-to-end server (or a group of processes sharing its state): its own
    database schema and queue name under the postgres profile; nothing under the embedded one."""
    if PROFILE != "postgres":
        return {}
    schema, url = new_postgres_schema()
    _SERVER_SCHEMAS.append(schema)
    return {
        "AUTORELAY_DATABASE_URL": url,
        "AUTORELAY_REDIS_URL": REDIS_URL,
        "AUTORELAY_QUEUE_NAME": f"q{uuid.uuid4().hex[:12]}",
        "AUTORELAY_SECRET_KEY": uuid.uuid4().hex * 2,
        # Delivery in serve's own threads: the embedded run proves the default's delivery process
        # (tests/e2e/test_delivery_process.py); this one gives the other path the whole suite, and
        # keeps CI's time (a second process per server) down.
        "AUTORELAY_DELIVERY_PROCESS": "off",
    }

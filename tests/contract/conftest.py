"""Fixtures shared by the contract suites: every storage adapter, on a fresh database per test."""

from __future__ import annotations

import pytest

from adapters.storage.memory.store import MemoryStorage
from adapters.storage.postgres.store import PostgresStorage
from adapters.storage.sqlite.store import SqliteStorage
from tests.backends import POSTGRES_URL, drop_postgres_schema, new_postgres_schema

BACKENDS = ["memory", "sqlite"] + (["postgres"] if POSTGRES_URL else [])


@pytest.fixture(params=BACKENDS)
def make_storage(request, tmp_path):
    """Opens storages on one database (a file, a Postgres schema) that lives as long as the test.
    Each storage must be used and closed on one event loop."""
    schema = None
    if request.param == "postgres":
        schema, url = new_postgres_schema()

    def make():
        if request.param == "memory":
            return MemoryStorage()
        if request.param == "sqlite":
            return SqliteStorage(tmp_path / "contract.db")
        return PostgresStorage(url)

    yield make
    if schema:
        drop_postgres_schema(schema)


@pytest.fixture
async def store(make_storage):
    storage = make_storage()
    yield storage
    await storage.close()


# The SMTP client's suites, and the listeners' guards (which override aiosmtpd's protocol
# callbacks), run on both loops `autorelay serve` and `autorelay worker` use: uvloop keeps a
# protocol's callbacks from the moment a connection is made, asyncio looks them up each time, and
# code correct on one can be wrong on the other.
_BOTH_LOOPS = ("test_smtp_pipelining.py", "test_smtp_mailer.py", "test_smtp_relay_limits.py", "test_http_deadlines.py")


def pytest_asyncio_loop_factories(config, item):
    import asyncio

    if item.fspath.basename not in _BOTH_LOOPS:
        return {"asyncio": asyncio.new_event_loop}
    import uvloop

    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}

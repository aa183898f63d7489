"""The base of every SQLite repository: the process's one connection and its write transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlite_utils

from adapters.storage.sqlite.batch import begin


class Tables:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.conn: sqlite3.Connection = db.conn

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[sqlite3.Connection]:
        """A write transaction; waits for another process's lock without blocking the loop. The
        body must not await: the connection is shared by every task of the process."""
        await begin(self.conn)
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

"""Group commit for SQLite: writes issued during one turn of the event loop share a transaction.

A commit in WAL mode writes every touched page (table and index pages) to the log; thirty-two
concurrent sends committed one by one rewrite the same pages thirty-two times. Here each write runs
inside its own SAVEPOINT, so a failing write rolls back alone and fails only its own caller, and
the batch commits once. Callers return only after that commit: durability is unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from autorelay_core.errors import Unavailable

log = logging.getLogger("autorelay.sqlite")
T = TypeVar("T")
Write = Callable[[sqlite3.Connection], Any]
Then = Callable[[], None] | None


# How long a transaction keeps retrying while another process holds the write lock (each retry
# is scheduled on the loop, never waited for on it) before its callers get Unavailable (503).
BUSY_BUDGET = 2.0
# How long a `later` write waits for others to share its commit. A delivery's outcome waits this
# long at most; a worker killed within it leaves a message the server took as `uncertain` (never
# lost, never silently sent twice), as it would a moment earlier. Each outcome commit rewrites
# some fifteen pages (the record, the status indexes, the event and its indexes) however many
# outcomes share it: at 2,000 messages/s, 4 ms made 10 KB of WAL a message, 8 ms makes 7.8 KB.
LINGER = 0.008
# In `serve`, an embedded delivery pass waits for its outcomes before it starts the next, and
# requests share the loop: there the wait is shorter (8 ms made the embedded drain a third slower).
SHARED_LINGER = 0.002
# What a single statement outside a transaction may wait for a lock, on the loop.
BUSY_WAIT_MS = 50


def locked_out(error: sqlite3.OperationalError) -> Exception:
    """Unavailable for a lock held elsewhere (SQLITE_BUSY, SQLITE_LOCKED), else the error itself."""
    if getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return Unavailable("the database is locked by another process; retry shortly", retry_after=1)
    return error


def at_once(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> sqlite3.Cursor:
    """A statement without the busy wait: Unavailable at once when another process holds the
    write lock, so the caller can wait for it off the loop's back (asyncio.sleep) or let it go."""
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        return conn.execute(sql, params)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_WAIT_MS}")


def begin_now(conn: sqlite3.Connection) -> None:
    at_once(conn, "BEGIN IMMEDIATE")


async def begin(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting for another process's lock without blocking the loop; Unavailable
    past BUSY_BUDGET."""
    loop = asyncio.get_running_loop()
    started, delay = loop.time(), 0.002
    while True:
        try:
            begin_now(conn)
            return
        except Unavailable:
            if loop.time() - started >= BUSY_BUDGET:
                raise
            await asyncio.sleep(delay)
            delay = min(0.05, delay * 2)


class GroupCommit:
    def __init__(self, conn: sqlite3.Connection, linger: float = LINGER) -> None:
        self._conn = conn
        self._linger = linger
        self._pending: list[tuple[Write, asyncio.Future, Then]] = []
        self._later: list[tuple[Write, asyncio.Future, Then]] = []
        self._retry: asyncio.TimerHandle | None = None
        self._busy_since: float | None = None

    async def run(self, write: Callable[[sqlite3.Connection], T], then: Then = None, later: bool = False) -> T:
        """Run `write` in the next batch. `then`, if given, is called right after the COMMIT, before
        any other task resumes, when `write` returned a true value (the hand-over's last step).
        `later`: a write nobody is held up by (a delivery's outcome) waits up to `linger` seconds for
        company, so that many share one commit and the pages they all touch are written once."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        if later:
            self._later.append((write, future, then))
            if len(self._later) == 1:
                loop.call_later(self._linger, self._flush_later)
            return await future
        self._pending.append((write, future, then))
        # Hand-overs too wait for the turn's batch: several connections reaching their last "."
        # in one turn share a commit. Each `then` still runs right after that COMMIT, with no other
        # task in between, so the time a crash can fall between record and byte stays one step.
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        return await future

    def _flush_later(self) -> None:
        self._pending += self._later
        self._later = []
        self._flush()

    def _flush(self, retrying: bool = False) -> None:
        if not self._pending:  # already taken by the lingering writes' flush
            return
        if self._retry is not None and not retrying:
            return  # locked out: the scheduled retry takes everything pending
        self._retry = None
        conn = self._conn
        try:
            begin_now(conn)
        except Unavailable as error:
            self._wait_for_lock(error)
            return
        self._busy_since = None
        batch, self._pending = self._pending, []
        outcomes: list[tuple[asyncio.Future, bool, Any]] = []
        try:
            for write, future, _ in batch:
                conn.execute("SAVEPOINT one_write")
                try:
                    outcomes.append((future, True, write(conn)))
                except Exception as error:  # handed to that write's caller
                    conn.execute("ROLLBACK TO one_write")
                    outcomes.append((future, False, error))
                conn.execute("RELEASE one_write")
            conn.execute("COMMIT")
        except Exception as error:  # the transaction itself failed: fail them all
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(future, False, error) for _, future, _ in batch]
        for (_, _, then), (_, ok, value) in zip(batch, outcomes, strict=True):
            if then is not None and ok and value:
                try:
                    then()
                except Exception:  # the caller's step failed; the batch and the others are fine
                    log.exception("the step after a group commit failed")
        self._settle(outcomes)

    @staticmethod
    def _settle(outcomes: list[tuple[asyncio.Future, bool, Any]]) -> None:
        for future, ok, value in outcomes:
            if future.done():  # the caller went away (cancelled request)
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _wait_for_lock(self, error: Unavailable) -> None:
        """Another process holds the write lock: try again in a moment, off the loop's back; past
        BUSY_BUDGET, fail what is waiting (503) rather than let requests pile up."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._busy_since = self._busy_since if self._busy_since is not None else now
        if now - self._busy_since >= BUSY_BUDGET:
            batch, self._pending, self._busy_since = self._pending, [], None
            self._settle([(future, False, error) for _, future, _ in batch])
            return
        delay = min(0.05, 0.002 * 2 ** min(5, int((now - self._busy_since) / 0.02)))
        self._retry = loop.call_later(delay, self._flush, True)

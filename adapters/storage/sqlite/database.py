"""The SQLite connection a process uses: WAL, a short busy wait (statements run on the event loop),
the schema migrated on open, and a checkpointer that keeps the WAL small."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import sqlite_utils

from adapters.storage.sqlite.batch import BUSY_WAIT_MS, locked_out
from adapters.storage.sqlite.schema import migrate


class _Connection(sqlite3.Connection):
    """Statements run on the event loop, so a lock held by another process (a backup, a shell, a
    long import in a worker) must not hold the loop: the busy wait is short (BUSY_WAIT_MS), and a
    statement still locked out after it raises Unavailable (503 with Retry-After) instead of
    sqlite3's OperationalError. Group commits retry without blocking (batch.py)."""

    def execute(self, *args: Any) -> sqlite3.Cursor:
        try:
            return super().execute(*args)
        except sqlite3.OperationalError as error:
            raise locked_out(error) from error

    def executemany(self, *args: Any) -> sqlite3.Cursor:
        try:
            return super().executemany(*args)
        except sqlite3.OperationalError as error:
            raise locked_out(error) from error


SYNCHRONOUS = ("full", "normal")


def open_database(
    path: str | Path, large_reads: bool = True, synchronous: str = "full"
) -> tuple[sqlite_utils.Database, int]:
    """The process's connection, tuned, with the schema brought up to date (once per process: the
    version reached is returned for `migrate()` to report). `large_reads`: a process serving pages
    over big lists; a worker, which reads rows by id and small batches, keeps its memory small.
    `synchronous`: "full" (every commit is on the disk before it returns, so a 200 survives a
    power cut) or "normal" (survives a crash of the process, not of the machine)."""
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_WAIT_MS / 1000, factory=_Connection
    )
    db = sqlite_utils.Database(conn)
    db.enable_wal()
    # FULL: the WAL is flushed to the disk at every commit, before any caller hears of it (as
    # Postfix answers 250 only once its queue file is synced). The group commit shares one flush
    # among a loop turn's writes; one takes a fraction of a millisecond on an SSD. NORMAL keeps
    # commits across a crash of the process but can lose the last ones to a power cut.
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, not {synchronous!r}")
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    conn.execute("PRAGMA foreign_keys = ON")
    # Page through big lists from memory: a 32 MB page cache, and reads through mmap instead of a
    # read() call per page (counting 100,000 contacts goes from ~25 ms to ~5 ms).
    # A worker needs neither: the mapped pages count in its RSS (a campaign runner reached 190 MB,
    # half of it the mapped database), and 4 MB of cache hold every page a pass touches.
    conn.execute(f"PRAGMA cache_size = {-32000 if large_reads else -4000}")
    conn.execute(f"PRAGMA mmap_size = {268435456 if large_reads else 0}")
    # Sorts and IN-lists of statements (an outbox claim's subquery, say) in memory: on disk, each
    # one created, wrote and deleted a file in /var/tmp, which was half the write calls of a send.
    conn.execute("PRAGMA temp_store = MEMORY")
    # Checkpoints (which fsync) run on a background thread instead of inside some request's COMMIT.
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
    # Processes starting together take turns migrating: at start, waiting for the lock is right.
    conn.execute("PRAGMA busy_timeout = 10000")
    version = migrate(conn)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_WAIT_MS}")
    return db, version


# The WAL's size past which checkpoints make room by starting it over (see Checkpointer).
WAL_LIMIT = 64 * 1024 * 1024


class Checkpointer:
    """Copies the WAL back into the database file every `interval` seconds from its own thread and
    connection, so the event loop never waits for an fsync.

    A passive checkpoint never holds anyone up, but under steady writes it never copies the newest
    frames either, and SQLite starts the WAL over only once every frame is copied: a 10,000-message
    campaign left a 750 MB WAL, growing for as long as the writes went on. So once the WAL passes
    `limit` bytes, a RESTART checkpoint follows the passive one. It holds new writers back while it
    copies what came since (the passive one did the bulk) and syncs, and the next write starts the
    WAL over (cut back to `limit` bytes: journal_size_limit). It gives up after `wait` seconds (a
    long read in progress), letting writers go on; the next round tries again."""

    def __init__(self, path: str | Path, interval: float = 0.5, limit: int = WAL_LIMIT, wait: float = 0.05) -> None:
        self._path, self._interval, self._limit, self._wait = str(path), interval, limit, wait
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=self._wait)
        conn.execute(f"PRAGMA journal_size_limit = {int(self._limit)}")
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        try:
            while not self._stop.wait(self._interval):
                try:
                    _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if frames * page_size > self._limit:
                        conn.execute("PRAGMA wal_checkpoint(RESTART)")
                except sqlite3.OperationalError:
                    continue  # busy: the next round catches up
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

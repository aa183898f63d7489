"""The SQLite WAL stays bounded under writes that never pause: passive checkpoints alone never
catch up with the newest frames, so SQLite would never start the log over."""

from __future__ import annotations

import asyncio
import os
import time

from adapters.storage.sqlite.database import Checkpointer, open_database


def _largest_wal_under_steady_writes(path, checkpointer: Checkpointer, limit: int, seconds: float = 1.5) -> int:
    conn = open_database(path)[0].conn
    conn.execute(f"PRAGMA journal_size_limit = {limit}")  # as open_database sets it, to the test's limit
    conn.execute("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, body TEXT)")
    largest, deadline, n = 0, time.monotonic() + seconds, 0
    try:
        while time.monotonic() < deadline:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO filler (body) VALUES (?)", ("x" * 3000,))
            conn.execute("UPDATE filler SET body = ? WHERE id = ?", ("y" * 3000, max(1, n // 2)))
            conn.execute("COMMIT")
            time.sleep(0.0002)  # a writer also does other things between commits (a runner: most of the time)
            n += 1
            if n % 50 == 0:
                largest = max(largest, os.path.getsize(f"{path}-wal"))
    finally:
        checkpointer.stop()
        conn.close()
    return largest


def test_the_wal_is_started_over_once_it_passes_the_limit(tmp_path):
    limit = 512 * 1024
    path = tmp_path / "bounded.db"
    bounded = _largest_wal_under_steady_writes(path, Checkpointer(path, interval=0.02, limit=limit), limit)
    # The control: the same writes with the limit out of reach grow the log far past it.
    path = tmp_path / "unbounded.db"
    unbounded = _largest_wal_under_steady_writes(path, Checkpointer(path, interval=0.02, limit=2**40), limit)
    assert unbounded > 20 * limit, unbounded
    assert bounded < 10 * limit, (bounded, unbounded)


def test_commits_reach_the_disk_before_they_return_unless_told_otherwise(tmp_path):
    """PRAGMA synchronous: FULL (2) by default, so an accepted email outlives a power cut; NORMAL (1)
    when the operator chose it (AUTORELAY_SQLITE_SYNCHRONOUS=normal)."""
    from adapters.storage.sqlite.store import SqliteStorage

    durable = SqliteStorage(tmp_path / "full.db")
    assert durable.db.conn.execute("PRAGMA synchronous").fetchone() == (2,)
    quick = SqliteStorage(tmp_path / "normal.db", synchronous="normal")
    assert quick.db.conn.execute("PRAGMA synchronous").fetchone() == (1,)
    for storage in (durable, quick):
        asyncio.run(storage.close())

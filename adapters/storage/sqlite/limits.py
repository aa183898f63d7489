"""Rate limits: the sliding-window logs every process on the file shares, and operators overrides."""

from __future__ import annotations

import sqlite3

from adapters.storage.sqlite.batch import GroupCommit
from adapters.storage.sqlite.tables import Tables
from autorelay_core.policies.rate_limit import Admission, Limit


class SqliteLimitOverrides(Tables):
    async def get(self, project_id: str) -> dict[str, Limit]:
        rows = self.conn.execute(
            "SELECT endpoint, count, window FROM limit_overrides WHERE project_id = ?", (project_id,)
        )
        return {endpoint: Limit(count, window) for endpoint, count, window in rows}

    async def set(self, project_id: str, endpoint: str, limit: Limit) -> None:
        async with self.tx() as conn:
            conn.execute(
                "INSERT INTO limit_overrides (project_id, endpoint, count, window) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (project_id, endpoint) DO UPDATE SET count = excluded.count, window = excluded.window",
                (project_id, endpoint, limit.count, limit.window),
            )

    async def clear(self, project_id: str, endpoint: str) -> bool:
        async with self.tx() as conn:
            cursor = conn.execute(
                "DELETE FROM limit_overrides WHERE project_id = ? AND endpoint = ?", (project_id, endpoint)
            )
        return cursor.rowcount == 1


class SqliteRateLimits:
    """The sliding log in a table; shared by every process that opens the same database file.

    Each check costs O(log n) whatever the limit: expired rows are deleted as they expire (each
    once), the count per bucket is kept in rate_counts, and the oldest row comes off the index.
    """

    def __init__(self, group: GroupCommit) -> None:
        self._group = group

    async def hit(self, bucket: str, now: float, limit: Limit) -> Admission:
        def write(conn: sqlite3.Connection) -> Admission:
            expired = conn.execute(
                "DELETE FROM rate_hits WHERE bucket = ? AND at <= ?", (bucket, now - limit.window)
            ).rowcount
            if expired:
                conn.execute("UPDATE rate_counts SET used = used - ? WHERE bucket = ?", (expired, bucket))
            row = conn.execute("SELECT used FROM rate_counts WHERE bucket = ?", (bucket,)).fetchone()
            used = row[0] if row else 0
            allowed = used < limit.count
            if allowed:
                conn.execute("INSERT INTO rate_hits (bucket, at) VALUES (?, ?)", (bucket, now))
                conn.execute(
                    "INSERT INTO rate_counts (bucket, used) VALUES (?, 1)"
                    " ON CONFLICT (bucket) DO UPDATE SET used = used + 1",
                    (bucket,),
                )
                used += 1
            (oldest,) = conn.execute("SELECT MIN(at) FROM rate_hits WHERE bucket = ?", (bucket,)).fetchone()
            return Admission(allowed, used, oldest)

        return await self._group.run(write)

    async def forget(self, bucket: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM rate_hits WHERE bucket = ?", (bucket,))
            conn.execute("DELETE FROM rate_counts WHERE bucket = ?", (bucket,))

        await self._group.run(write)

    async def close(self) -> None:
        return None  # nothing of its own to let go of

"""Rate limits: the sliding-window logs every process shares, and operators overrides."""

from __future__ import annotations

from adapters.batching import Batcher
from adapters.storage.postgres.database import Database
from autorelay_core.policies.rate_limit import Admission, Limit


class PostgresLimitOverrides:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, project_id: str) -> dict[str, Limit]:
        rows = await self.db.fetchall(
            'SELECT endpoint, count, "window" FROM limit_overrides WHERE project_id = %s', (project_id,)
        )
        return {endpoint: Limit(count, window) for endpoint, count, window in rows}

    async def set(self, project_id: str, endpoint: str, limit: Limit) -> None:
        await self.db.rowcount(
            'INSERT INTO limit_overrides (project_id, endpoint, count, "window") VALUES (%s, %s, %s, %s)'
            ' ON CONFLICT (project_id, endpoint) DO UPDATE SET count = excluded.count, "window" = excluded."window"',
            (project_id, endpoint, limit.count, limit.window),
        )

    async def clear(self, project_id: str, endpoint: str) -> bool:
        deleted = await self.db.rowcount(
            "DELETE FROM limit_overrides WHERE project_id = %s AND endpoint = %s", (project_id, endpoint)
        )
        return deleted == 1


class PostgresRateLimits:
    """The sliding log, shared by every process on the database (see autorelay_rate_hit)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Hits that arrive together are counted together, in order (adapters/batching.py).
        self._hits: Batcher[tuple[str, float, Limit], Admission] = Batcher(self._hit_one, self._hit_many)

    async def hit(self, bucket: str, now: float, limit: Limit) -> Admission:
        return await self._hits.run((bucket, now, limit))

    async def _hit_many(self, hits: list[tuple[str, float, Limit]]) -> list[Admission]:
        rows = await self.db.fetchall(
            "SELECT * FROM autorelay_rate_hits(%s::text[], %s::double precision[], %s::integer[],"
            " %s::double precision[])",
            (
                [bucket for bucket, _, _ in hits],
                [now for _, now, _ in hits],
                [limit.count for _, _, limit in hits],
                [float(limit.window) for _, _, limit in hits],
            ),
        )
        return [Admission(allowed, used, oldest) for allowed, used, oldest in rows]

    async def _hit_one(self, hit: tuple[str, float, Limit]) -> Admission:
        bucket, now, limit = hit
        row = await self.db.fetchone(
            "SELECT * FROM autorelay_rate_hit(%s, %s, %s, %s)", (bucket, now, limit.count, float(limit.window))
        )
        assert row is not None
        allowed, used, oldest = row
        return Admission(allowed, used, oldest)

    async def forget(self, bucket: str) -> None:
        async with self.db.transaction() as conn:  # the count's row first, as autorelay_rate_hit locks it
            await conn.execute("DELETE FROM rate_counts WHERE bucket = %s", (bucket,))
            await conn.execute("DELETE FROM rate_hits WHERE bucket = %s", (bucket,))

    async def close(self) -> None:
        return None  # nothing of its own to let go of

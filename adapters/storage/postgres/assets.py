"""Assets on PostgreSQL (see store.py for the pool)."""

from __future__ import annotations

from adapters.storage.postgres.database import Database
from adapters.storage.rows import assets as rows
from autorelay_core.domain.assets import Asset
from autorelay_core.policies.pagination import CursorPage, CursorRequest


class PostgresAssets:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, asset: Asset) -> None:
        await self.db.rowcount(
            f"INSERT INTO assets ({rows.COLUMNS}) VALUES ({', '.join(['%s'] * 8)})", rows.values(asset)
        )

    async def get(self, project_id: str, asset_id: str) -> Asset | None:
        row = await self.db.fetchone(
            f"SELECT {rows.COLUMNS} FROM assets WHERE id = %s AND project_id = %s", (asset_id, project_id)
        )
        return rows.asset_row(row) if row else None

    async def find(self, asset_id: str) -> Asset | None:
        row = await self.db.fetchone(f"SELECT {rows.COLUMNS} FROM assets WHERE id = %s", (asset_id,))
        return rows.asset_row(row) if row else None

    async def page(self, project_id: str, category: str | None, cursor: CursorRequest) -> CursorPage[Asset]:
        after_seq = None
        if cursor.after is not None:
            anchor = await self.db.fetchone(
                "SELECT seq FROM assets WHERE id = %s AND project_id = %s", (cursor.after, project_id)
            )
            if anchor is None:
                return CursorPage([], 0, False)
            after_seq = anchor[0]
        count, page, args = rows.page_queries(category, after_seq, "%s")
        counted = await self.db.fetchone(count, (project_id, *args))
        total = counted[0] if counted else 0
        found = await self.db.fetchall(page, (project_id, *args, cursor.limit + 1))
        return CursorPage([rows.asset_row(r) for r in found[: cursor.limit]], total, len(found) > cursor.limit)

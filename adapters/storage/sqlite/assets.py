"""Assets on SQLite (see tables.py for the connection)."""

from __future__ import annotations

from adapters.storage.codec import ts
from adapters.storage.rows import assets as rows
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.assets import Asset
from autorelay_core.policies.pagination import CursorPage, CursorRequest


class SqliteAssets:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, asset: Asset) -> None:
        async with self._t.tx() as conn:
            conn.execute(f"INSERT INTO assets ({rows.COLUMNS}) VALUES ({', '.join('?' * 8)})", rows.values(asset, ts))

    async def get(self, project_id: str, asset_id: str) -> Asset | None:
        row = self._t.conn.execute(
            f"SELECT {rows.COLUMNS} FROM assets WHERE id = ? AND project_id = ?", (asset_id, project_id)
        ).fetchone()
        return rows.asset_row(row) if row else None

    async def find(self, asset_id: str) -> Asset | None:
        row = self._t.conn.execute(f"SELECT {rows.COLUMNS} FROM assets WHERE id = ?", (asset_id,)).fetchone()
        return rows.asset_row(row) if row else None

    async def page(self, project_id: str, category: str | None, cursor: CursorRequest) -> CursorPage[Asset]:
        conn = self._t.conn
        after_seq = None
        if cursor.after is not None:
            anchor = conn.execute(
                "SELECT seq FROM assets WHERE id = ? AND project_id = ?", (cursor.after, project_id)
            ).fetchone()
            if anchor is None:
                return CursorPage([], 0, False)
            after_seq = anchor[0]
        count, page, args = rows.page_queries(category, after_seq, "?")
        (total,) = conn.execute(count, [project_id, *args]).fetchone()
        found = conn.execute(page, [project_id, *args, cursor.limit + 1]).fetchall()
        return CursorPage([rows.asset_row(r) for r in found[: cursor.limit]], total, len(found) > cursor.limit)

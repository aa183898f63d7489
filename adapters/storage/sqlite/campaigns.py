"""Campaigns on SQLite (see tables.py for the connection and its transactions)."""

from __future__ import annotations

from datetime import datetime

from adapters.storage.rows.campaigns import COLUMNS, COUNT, COUNTS, UPDATE, campaign_row, update_args, values
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.campaigns import Campaign, CampaignStatus
from autorelay_core.policies.pagination import OffsetPage, OffsetRequest
from autorelay_core.ports import CampaignCounts


def _iso(moment: datetime) -> str:
    return moment.isoformat()


class SqliteCampaigns:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, campaign: Campaign) -> None:
        async with self._t.tx() as conn:
            conn.execute(f"INSERT INTO campaigns ({COLUMNS}) VALUES ({', '.join('?' * COUNT)})", values(campaign, _iso))

    async def get(self, project_id: str, campaign_id: str) -> Campaign | None:
        row = self._t.conn.execute(
            f"SELECT {COLUMNS} FROM campaigns WHERE id = ? AND project_id = ?", (campaign_id, project_id)
        ).fetchone()
        return campaign_row(row) if row else None

    async def page(self, project_id: str, status: CampaignStatus | None, page: OffsetRequest) -> OffsetPage[Campaign]:
        where, args = "project_id = ?", [project_id]
        if status is not None:
            where += " AND status = ?"
            args.append(status.value)
        conn = self._t.conn
        (total,) = conn.execute(f"SELECT count(*) FROM campaigns WHERE {where}", args).fetchone()
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM campaigns WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
            [*args, page.page_size, page.offset],
        ).fetchall()
        return OffsetPage(items=[campaign_row(r) for r in rows], total=total)

    async def update(self, campaign: Campaign) -> None:
        async with self._t.tx() as conn:
            conn.execute(
                f"UPDATE campaigns SET {UPDATE.format(p='?')} WHERE id = ? AND project_id = ?",
                update_args(campaign, _iso),
            )

    async def delete(self, project_id: str, campaign_id: str) -> bool:
        async with self._t.tx() as conn:
            cursor = conn.execute("DELETE FROM campaigns WHERE id = ? AND project_id = ?", (campaign_id, project_id))
        return cursor.rowcount == 1

    async def count_unsubscribed(self, project_id: str, campaign_id: str) -> None:
        async with self._t.tx() as conn:
            conn.execute(
                "UPDATE campaigns SET unsubscribed = unsubscribed + 1 WHERE id = ? AND project_id = ?",
                (campaign_id, project_id),
            )

    async def keep_rest(self, campaign_id: str, contact_ids: list[str]) -> None:
        async with self._t.tx() as conn:
            conn.executemany(
                "INSERT INTO campaign_rest (campaign_id, contact_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(campaign_id, contact_id) for contact_id in contact_ids],
            )

    async def rest(self, campaign_id: str) -> list[str]:
        rows = self._t.conn.execute(
            "SELECT contact_id FROM campaign_rest WHERE campaign_id = ? ORDER BY seq", (campaign_id,)
        )
        return [contact_id for (contact_id,) in rows]

    async def drop_rest(self, campaign_id: str) -> None:
        async with self._t.tx() as conn:
            conn.execute("DELETE FROM campaign_rest WHERE campaign_id = ?", (campaign_id,))

    async def running(self) -> list[Campaign]:
        rows = self._t.conn.execute(
            f"SELECT {COLUMNS} FROM campaigns WHERE status IN ('sending', 'paused') ORDER BY seq"
        )
        return [campaign_row(r) for r in rows]

    async def counts(self, project_id: str) -> CampaignCounts:
        total, sending, completed = self._t.conn.execute(COUNTS.format(p="?"), (project_id,)).fetchone()
        return CampaignCounts(total, sending, completed)

"""Campaigns on PostgreSQL (see store.py for the pool)."""

from __future__ import annotations

from adapters.storage.postgres.database import Database
from adapters.storage.rows.campaigns import COLUMNS, COUNT, COUNTS, UPDATE, campaign_row, update_args, values
from autorelay_core.domain.campaigns import Campaign, CampaignStatus
from autorelay_core.policies.pagination import OffsetPage, OffsetRequest
from autorelay_core.ports import CampaignCounts


class PostgresCampaigns:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, campaign: Campaign) -> None:
        await self.db.rowcount(
            f"INSERT INTO campaigns ({COLUMNS}) VALUES ({', '.join(['%s'] * COUNT)})", values(campaign)
        )

    async def get(self, project_id: str, campaign_id: str) -> Campaign | None:
        row = await self.db.fetchone(
            f"SELECT {COLUMNS} FROM campaigns WHERE id = %s AND project_id = %s", (campaign_id, project_id)
        )
        return campaign_row(row) if row else None

    async def page(self, project_id: str, status: CampaignStatus | None, page: OffsetRequest) -> OffsetPage[Campaign]:
        where, args = "project_id = %s", [project_id]
        if status is not None:
            where += " AND status = %s"
            args.append(status.value)
        async with self.db.connection() as conn:
            total = await (await conn.execute(f"SELECT count(*) FROM campaigns WHERE {where}", args)).fetchone()
            rows = await (
                await conn.execute(
                    f"SELECT {COLUMNS} FROM campaigns WHERE {where} ORDER BY seq DESC LIMIT %s OFFSET %s",
                    [*args, page.page_size, page.offset],
                )
            ).fetchall()
        return OffsetPage(items=[campaign_row(r) for r in rows], total=total[0] if total else 0)

    async def update(self, campaign: Campaign) -> None:
        await self.db.rowcount(
            f"UPDATE campaigns SET {UPDATE.format(p='%s')} WHERE id = %s AND project_id = %s", update_args(campaign)
        )

    async def delete(self, project_id: str, campaign_id: str) -> bool:
        deleted = await self.db.rowcount(
            "DELETE FROM campaigns WHERE id = %s AND project_id = %s", (campaign_id, project_id)
        )
        return deleted == 1

    async def count_unsubscribed(self, project_id: str, campaign_id: str) -> None:
        await self.db.rowcount(
            "UPDATE campaigns SET unsubscribed = unsubscribed + 1 WHERE id = %s AND project_id = %s",
            (campaign_id, project_id),
        )

    async def keep_rest(self, campaign_id: str, contact_ids: list[str]) -> None:
        await self.db.rowcount(
            "INSERT INTO campaign_rest (campaign_id, contact_id)"
            " SELECT %s, c FROM unnest(%s::text[]) WITH ORDINALITY AS k(c, n) ORDER BY n ON CONFLICT DO NOTHING",
            (campaign_id, contact_ids),
        )

    async def rest(self, campaign_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT contact_id FROM campaign_rest WHERE campaign_id = %s ORDER BY seq", (campaign_id,)
        )
        return [contact_id for (contact_id,) in rows]

    async def drop_rest(self, campaign_id: str) -> None:
        await self.db.rowcount("DELETE FROM campaign_rest WHERE campaign_id = %s", (campaign_id,))

    async def running(self) -> list[Campaign]:
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM campaigns WHERE status IN ('sending', 'paused') ORDER BY seq"
        )
        return [campaign_row(r) for r in rows]

    async def counts(self, project_id: str) -> CampaignCounts:
        row = await self.db.fetchone(COUNTS.format(p="%s"), (project_id,))
        total, sending, completed = row if row else (0, 0, 0)
        return CampaignCounts(total, sending, completed)

"""A campaign's emails as a group, and events counted by time, on PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from adapters.storage.postgres.database import Database
from autorelay_core.domain.emails import EmailStatus
from autorelay_core.domain.reputation import Activity


class PostgresCampaignMail:
    """CampaignMail: hold and release a campaign's emails, and count them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def hold(self, campaign_id: str) -> int:
        return await self.db.rowcount(
            "UPDATE emails SET delivery = 'held' WHERE campaign_id = %s AND delivery = 'pending'", (campaign_id,)
        )

    async def release(self, campaign_id: str, now: datetime) -> int:
        # Shifted together so the pace between them is kept, the first due now.
        return await self.db.rowcount(
            "UPDATE emails SET delivery = 'pending', due_at = due_at + greatest(interval '0', %s - (SELECT min(due_at)"
            " FROM emails WHERE campaign_id = %s AND delivery = 'held'))"
            " WHERE campaign_id = %s AND delivery = 'held'",
            (now, campaign_id, campaign_id),
        )

    async def statuses(self, campaign_id: str) -> dict[EmailStatus, int]:
        rows = await self.db.fetchall(
            "SELECT status, count(*) FROM emails WHERE campaign_id = %s GROUP BY status", (campaign_id,)
        )
        return {EmailStatus(status): count for status, count in rows}

    async def variant_statuses(self, campaign_id: str) -> dict[int, dict[EmailStatus, int]]:
        rows = await self.db.fetchall(
            "SELECT (payload ->> 'variant')::int, status, count(*) FROM emails"
            " WHERE campaign_id = %s AND payload ->> 'variant' IS NOT NULL GROUP BY 1, 2",
            (campaign_id,),
        )
        found: dict[int, dict[EmailStatus, int]] = {}
        for variant, status, count in rows:
            found.setdefault(variant, {})[EmailStatus(status)] = count
        return found

    async def timeline(self, campaign_id: str) -> list[tuple[str, str, int]]:
        rows = await self.db.fetchall(
            "SELECT to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI'), e.type, count(*) FROM emails m"
            " JOIN email_events e ON e.email_id = m.id WHERE m.campaign_id = %s GROUP BY 1, 2 ORDER BY 1",
            (campaign_id,),
        )
        return [(minute, kind, count) for minute, kind, count in rows]

    async def links(self, campaign_id: str, limit: int) -> list[tuple[str, int]]:
        rows = await self.db.fetchall(
            "SELECT e.data->>'url', count(*) FROM emails m JOIN email_events e ON e.email_id = m.id"
            " WHERE m.campaign_id = %s AND e.type = 'clicked' AND e.data ? 'url'"
            " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s",
            (campaign_id, limit),
        )
        return [(url, count) for url, count in rows]


class PostgresActivity:
    """EmailActivity: events counted by time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def activity(self, project_id: str, since: datetime) -> Activity:
        rows = await self.db.fetchall(
            "SELECT e.type, count(*) FROM email_events e JOIN emails m ON m.id = e.email_id"
            " WHERE e.type IN ('sent', 'bounced', 'complained') AND e.created_at >= %s"
            " AND m.project_id = %s AND NOT m.test GROUP BY e.type",
            (since, project_id),
        )
        counts = dict(rows)
        return Activity(counts.get("sent", 0), counts.get("bounced", 0), counts.get("complained", 0))

    async def daily(self, project_id: str, since: datetime) -> list[tuple[str, str, int]]:
        rows = await self.db.fetchall(
            "SELECT to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), e.type, count(*) FROM email_events e"
            " JOIN emails m ON m.id = e.email_id WHERE e.created_at >= %s AND m.project_id = %s"
            " GROUP BY 1, 2 ORDER BY 1",
            (since, project_id),
        )
        return [(day, kind, count) for day, kind, count in rows]

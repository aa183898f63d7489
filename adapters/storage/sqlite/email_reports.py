"""A campaign's emails as a group, and the counts the dashboard and reputation read, on SQLite."""

from __future__ import annotations

from datetime import datetime

from adapters.storage import codec
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.emails import EmailStatus
from autorelay_core.domain.reputation import Activity


class SqliteCampaignMail(Tables):
    """CampaignMail: hold and release a campaign's emails, and count them."""

    async def hold(self, campaign_id: str) -> int:
        async with self.tx() as conn:
            return conn.execute(
                "UPDATE emails SET delivery = 'held' WHERE campaign_id = ? AND delivery = 'pending'", (campaign_id,)
            ).rowcount

    async def release(self, campaign_id: str, now: datetime) -> int:
        # Shifted together so the pace between them is kept, the first due now.
        async with self.tx() as conn:
            return conn.execute(
                "UPDATE emails SET delivery = 'pending', due_at = due_at + max(0, ? - (SELECT min(due_at)"
                " FROM emails WHERE campaign_id = ? AND delivery = 'held'))"
                " WHERE campaign_id = ? AND delivery = 'held'",
                (codec.ts(now), campaign_id, campaign_id),
            ).rowcount

    async def statuses(self, campaign_id: str) -> dict[EmailStatus, int]:
        rows = self.conn.execute(
            "SELECT status, count(*) FROM emails WHERE campaign_id = ? GROUP BY status", (campaign_id,)
        )
        return {EmailStatus(status): count for status, count in rows}

    async def variant_statuses(self, campaign_id: str) -> dict[int, dict[EmailStatus, int]]:
        rows = self.conn.execute(
            "SELECT json_extract(payload, '$.variant'), status, count(*) FROM emails"
            " WHERE campaign_id = ? AND json_extract(payload, '$.variant') IS NOT NULL GROUP BY 1, 2",
            (campaign_id,),
        )
        found: dict[int, dict[EmailStatus, int]] = {}
        for variant, status, count in rows:
            found.setdefault(int(variant), {})[EmailStatus(status)] = count
        return found

    async def timeline(self, campaign_id: str) -> list[tuple[str, str, int]]:
        rows = self.conn.execute(
            "SELECT substr(e.created_at, 1, 16), e.type, COUNT(*) FROM emails m"
            " JOIN email_events e ON e.email_id = m.id WHERE m.campaign_id = ? GROUP BY 1, 2 ORDER BY 1",
            (campaign_id,),
        )
        return [(minute, kind, count) for minute, kind, count in rows]

    async def links(self, campaign_id: str, limit: int) -> list[tuple[str, int]]:
        rows = self.conn.execute(
            "SELECT json_extract(e.data, '$.url'), COUNT(*) FROM emails m JOIN email_events e ON e.email_id = m.id"
            " WHERE m.campaign_id = ? AND e.type = 'clicked' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
            (campaign_id, limit),
        )
        return [(url, count) for url, count in rows if url]


class SqliteActivity(Tables):
    """EmailActivity: events counted by time."""

    async def activity(self, project_id: str, since: datetime) -> Activity:
        rows = self.conn.execute(
            "SELECT e.type, COUNT(*) FROM email_events e JOIN emails m ON m.id = e.email_id"
            " WHERE e.type IN ('sent', 'bounced', 'complained') AND e.created_at >= ?"
            " AND m.project_id = ? AND m.test = 0 GROUP BY e.type",
            (since.isoformat(), project_id),
        )
        counts = dict(rows.fetchall())
        return Activity(counts.get("sent", 0), counts.get("bounced", 0), counts.get("complained", 0))

    async def daily(self, project_id: str, since: datetime) -> list[tuple[str, str, int]]:
        rows = self.conn.execute(
            "SELECT substr(e.created_at, 1, 10), e.type, COUNT(*) FROM email_events e"
            " JOIN emails m ON m.id = e.email_id WHERE e.created_at >= ? AND m.project_id = ? GROUP BY 1, 2 ORDER BY 1",
            (since.isoformat(), project_id),
        )
        return [(day, kind, count) for day, kind, count in rows]

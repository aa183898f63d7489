"""A campaign's emails as a group, and events counted by time, in memory."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from adapters.storage.memory.emails import MailTable
from autorelay_core.domain.emails import Delivery, EmailStatus, EventType
from autorelay_core.domain.reputation import Activity


class MemoryCampaignMail:
    """CampaignMail: hold and release a campaign's emails, and count them."""

    def __init__(self, mail: MailTable) -> None:
        self._mail = mail

    async def hold(self, campaign_id: str) -> int:
        rows = [
            r for r in self._mail.rows.values() if r.email.campaign_id == campaign_id and r.delivery is Delivery.PENDING
        ]
        for row in rows:
            row.delivery = Delivery.HELD
        return len(rows)

    async def release(self, campaign_id: str, now: datetime) -> int:
        rows = [
            r for r in self._mail.rows.values() if r.email.campaign_id == campaign_id and r.delivery is Delivery.HELD
        ]
        if rows:
            shift = max(now - min(r.due_at for r in rows), timedelta(0))
            for row in rows:
                row.delivery, row.due_at = Delivery.PENDING, row.due_at + shift
        return len(rows)

    async def statuses(self, campaign_id: str) -> dict[EmailStatus, int]:
        counts: dict[EmailStatus, int] = {}
        for row in self._mail.rows.values():
            if row.email.campaign_id == campaign_id:
                counts[row.email.status] = counts.get(row.email.status, 0) + 1
        return counts

    async def variant_statuses(self, campaign_id: str) -> dict[int, dict[EmailStatus, int]]:
        found: dict[int, dict[EmailStatus, int]] = {}
        for row in self._mail.rows.values():
            email = row.email
            if email.campaign_id == campaign_id and email.variant is not None:
                counts = found.setdefault(email.variant, {})
                counts[email.status] = counts.get(email.status, 0) + 1
        return found

    async def timeline(self, campaign_id: str) -> list[tuple[str, str, int]]:
        counts: Counter[tuple[str, str]] = Counter()
        for row in self._mail.rows.values():
            if row.email.campaign_id == campaign_id:
                for event in row.events:
                    counts[(event.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"), event.type.value)] += 1
        return sorted((minute, kind, count) for (minute, kind), count in counts.items())

    async def links(self, campaign_id: str, limit: int) -> list[tuple[str, int]]:
        clicks: Counter[str] = Counter()
        for row in self._mail.rows.values():
            if row.email.campaign_id == campaign_id:
                clicks.update(e.data["url"] for e in row.events if e.type is EventType.CLICKED and e.data.get("url"))
        return sorted(clicks.items(), key=lambda item: (-item[1], item[0]))[:limit]


class MemoryActivity:
    """EmailActivity: events counted by time."""

    def __init__(self, mail: MailTable) -> None:
        self._mail = mail

    async def activity(self, project_id: str, since: datetime) -> Activity:
        counts = {EventType.SENT: 0, EventType.BOUNCED: 0, EventType.COMPLAINED: 0}
        for row in self._mail.rows.values():
            if row.email.project_id != project_id or row.email.test:
                continue
            for event in row.events:
                if event.type in counts and event.created_at >= since:
                    counts[event.type] += 1
        return Activity(counts[EventType.SENT], counts[EventType.BOUNCED], counts[EventType.COMPLAINED])

    async def daily(self, project_id: str, since: datetime) -> list[tuple[str, str, int]]:
        counts: Counter[tuple[str, str]] = Counter()
        for row in self._mail.rows.values():
            if row.email.project_id == project_id:
                for event in row.events:
                    if event.created_at >= since:
                        counts[(event.created_at.astimezone(UTC).strftime("%Y-%m-%d"), event.type.value)] += 1
        return sorted((day, kind, count) for (day, kind), count in counts.items())

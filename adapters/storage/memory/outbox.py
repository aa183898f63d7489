"""The outbox in memory: the lease machine. The attempt number is the lease token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from attrs import evolve

from adapters.storage.memory.emails import MailTable, OutboxRow, rewritten
from adapters.storage.memory.webhooks import MemoryWebhooks
from autorelay_core.domain.emails import Delivery, Email, EmailStatus, Event
from autorelay_core.domain.webhooks import Notice
from autorelay_core.ports import Claim

_HELD_BY_A_WORKER = (Delivery.LEASED, Delivery.HANDOVER)


class MemoryOutbox:
    """Outbox: claims, hand-overs, outcomes and the reconciler's sweep."""

    def __init__(self, mail: MailTable, webhooks: MemoryWebhooks) -> None:
        self._mail, self._webhooks = mail, webhooks
        self._beats: dict[str, datetime] = {}

    async def beat(self, holder: str, now: datetime) -> None:
        self._beats[holder] = now

    async def free_silent(self, now: datetime, silent_since: datetime) -> int:
        silent = {h for h, at in self._beats.items() if at < silent_since}
        freed = 0
        for row in self._mail.rows.values():
            if row.delivery in _HELD_BY_A_WORKER and row.holder in silent and row.lease_until and row.lease_until > now:
                row.lease_until = now
                freed += 1
        self._beats = {h: at for h, at in self._beats.items() if at >= now - timedelta(days=1)}
        return freed

    async def claim(self, email_id: str, now: datetime, lease_until: datetime, holder: str = "") -> Claim | None:
        row = self._mail.rows.get(email_id)
        if row is None:
            return None
        free = row.delivery is Delivery.PENDING and row.due_at <= now
        expired = row.delivery is Delivery.LEASED and row.lease_until is not None and row.lease_until <= now
        if not (free or expired):
            return None
        row.delivery, row.lease_until, row.holder = Delivery.LEASED, lease_until, holder
        row.attempts += 1
        return Claim(email=evolve(row.email), attempt=row.attempts, lease_until=lease_until)

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int, holder: str = "") -> list[Claim]:
        due = sorted(
            (r for r in self._mail.rows.values() if r.delivery is Delivery.PENDING and r.due_at <= now),
            key=lambda r: (r.due_at, r.seq),
        )[:limit]
        claims = []
        for row in due:
            row.delivery, row.lease_until, row.holder = Delivery.LEASED, lease_until, holder
            row.attempts += 1
            claims.append(Claim(email=evolve(row.email), attempt=row.attempts, lease_until=lease_until))
        return claims

    def _holds(self, claim: Claim) -> OutboxRow | None:
        row = self._mail.rows.get(claim.email.id)
        # The attempt number is the lease token: every claim increments it.
        if row is None or row.delivery not in _HELD_BY_A_WORKER or row.attempts != claim.attempt:
            return None
        return row

    async def handover(self, claim: Claim, then: Callable[[], None] | None = None) -> bool:
        row = self._holds(claim)
        if row is None:
            return False
        row.delivery = Delivery.HANDOVER
        if then is not None:
            then()
        return True

    async def claim_handovers(self, now: datetime, lease_until: datetime, limit: int, holder: str = "") -> list[Claim]:
        found = [
            r
            for r in self._mail.rows.values()
            if r.delivery is Delivery.HANDOVER and r.lease_until is not None and r.lease_until <= now
        ][:limit]
        for row in found:
            row.lease_until, row.holder = lease_until, holder
            row.attempts += 1
        return [Claim(email=evolve(r.email), attempt=r.attempts, lease_until=lease_until) for r in found]

    async def finish(self, claim: Claim, email: Email, events: list[Event], notices: tuple[Notice, ...] = ()) -> bool:
        row = self._holds(claim)
        if row is None:
            return False
        row.email = rewritten(row.email, email)
        row.events.extend(events)
        self._webhooks.fan_out(email.project_id, notices)
        self._mail.contact_events.add_engagement(email, events)
        row.delivery, row.lease_until = Delivery.DONE, None
        return True

    async def reopen(self, project_id: str, email_id: str, at: datetime) -> bool:
        row = self._mail.rows.get(email_id)
        if row is None or row.email.project_id != project_id or row.delivery is not Delivery.DONE:
            return False
        if row.email.status is not EmailStatus.UNCERTAIN:
            return False
        row.delivery, row.lease_until, row.due_at = Delivery.PENDING, None, at
        return True

    async def retry_later(self, claim: Claim, at: datetime, error: str, event: Event) -> bool:
        row = self._holds(claim)
        if row is None:
            return False
        row.email.last_error = error
        row.events.append(event)
        row.delivery, row.lease_until, row.due_at = Delivery.PENDING, None, at
        return True

    async def postpone(self, claim: Claim, at: datetime) -> bool:
        row = self._holds(claim)
        if row is None:
            return False
        row.delivery, row.lease_until, row.due_at = Delivery.PENDING, None, at
        row.attempts -= 1
        return True

    async def stale(self, now: datetime, pending_before: datetime, limit: int) -> list[str]:
        rows = self._mail.rows.values()
        expired = [
            r for r in rows if r.delivery is Delivery.LEASED and r.lease_until is not None and r.lease_until <= now
        ]
        waiting = sorted(
            (r for r in rows if r.delivery is Delivery.PENDING and r.due_at <= pending_before), key=lambda r: r.due_at
        )
        for row in expired[:limit]:
            row.delivery, row.lease_until, row.due_at = Delivery.PENDING, None, now
        return [r.email.id for r in expired[:limit] + waiting[:limit]]

    async def next_due(self) -> datetime | None:
        return min((r.due_at for r in self._mail.rows.values() if r.delivery is Delivery.PENDING), default=None)

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        due = [r.due_at for r in self._mail.rows.values() if r.delivery is Delivery.PENDING and r.due_at <= now]
        return len(due), min(due, default=None)

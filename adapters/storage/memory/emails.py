"""The email record in memory; `MailTable.charge` is the quota rule, written once for this backend."""

from __future__ import annotations

from datetime import datetime

from attrs import define, evolve, field

from adapters.storage.memory.activity import MemoryContactEvents
from adapters.storage.memory.webhooks import MemoryWebhooks
from autorelay_core.domain import search
from autorelay_core.domain.emails import Delivery, Email, EmailStatus, Event
from autorelay_core.domain.webhooks import Notice
from autorelay_core.errors import Conflict, QuotaExceeded
from autorelay_core.policies.pagination import CursorPage, CursorRequest, Order
from autorelay_core.policies.quota import Charge, exceeded_message
from autorelay_core.ports import ANY_EMAIL, CONTENT_FIELDS, SEARCH_COUNTED, EmailFilter


@define
class OutboxRow:
    email: Email
    seq: int
    due_at: datetime
    delivery: Delivery = Delivery.PENDING
    lease_until: datetime | None = None
    attempts: int = 0
    events: list[Event] = field(factory=list)
    holder: str = ""


_HELD_BY_A_WORKER = (Delivery.LEASED, Delivery.HANDOVER)


def rewritten(stored: Email, email: Email) -> Email:
    """`email` as a later write stores it: everything but the content, which stays as added."""
    return evolve(email, **{name: getattr(stored, name) for name in CONTENT_FIELDS})


def _engagement(email: Email) -> tuple[EmailStatus, int, int]:
    return email.status, email.opens, email.clicks


class MailTable:
    """The emails and their outbox rows, shared by the repositories that read and write them: one
    process, one event loop, and no await inside a read-modify-write, so each method is atomic."""

    def __init__(self) -> None:
        self.rows: dict[str, OutboxRow] = {}
        self.contact_events = MemoryContactEvents()  # engagement is added with the email's events
        self.seq = 0
        self.usage: dict[tuple[str, str, str], int] = {}

    def charge(self, project_id: str, charges: tuple[Charge, ...], amount: int) -> None:
        keys = [(project_id, c.counter, c.period) for c in charges]
        for key, charge in zip(keys, charges, strict=True):
            if self.usage.get(key, 0) + amount > charge.limit:
                raise QuotaExceeded(exceeded_message(charge, amount))
        for key in keys:
            self.usage[key] = self.usage.get(key, 0) + amount


class MemoryEmails:
    """EmailRepository: the record, its events, and the writes that start and end it."""

    def __init__(self, mail: MailTable, webhooks: MemoryWebhooks) -> None:
        self._mail, self._webhooks = mail, webhooks

    async def add(self, email: Email, events: list[Event], charges: tuple[Charge, ...] = ()) -> None:
        if email.id in self._mail.rows:  # as the databases' primary keys refuse it
            raise Conflict(f"email {email.id} is stored already")
        self._mail.charge(email.project_id, charges, 1)
        self._mail.seq += 1
        due = email.scheduled_at or email.created_at
        self._mail.rows[email.id] = OutboxRow(evolve(email), self._mail.seq, due, events=list(events))

    async def add_many(self, emails: list[Email], events: list[Event], charges: tuple[Charge, ...] = ()) -> int:
        taken: set[tuple[str | None, str | None]] = {
            (r.email.campaign_id, r.email.contact_id) for r in self._mail.rows.values() if r.email.campaign_id
        }
        new = []
        for email in emails:
            if (email.campaign_id, email.contact_id) in taken or email.id in self._mail.rows:
                continue
            taken.add((email.campaign_id, email.contact_id))
            new.append(email)
        if new:
            self._mail.charge(new[0].project_id, charges, len(new))
        for email in new:
            await self.add(email, list(events))
        return len(new)

    async def get(self, project_id: str, email_id: str) -> Email | None:
        row = self._mail.rows.get(email_id)
        if row is None or row.email.project_id != project_id:
            return None
        return evolve(row.email)

    async def locate(self, email_id: str) -> Email | None:
        row = self._mail.rows.get(email_id)
        return evolve(row.email) if row else None

    async def by_provider_id(self, provider_message_id: str) -> Email | None:
        found = next(
            (r.email for r in self._mail.rows.values() if r.email.provider_message_id == provider_message_id), None
        )
        return evolve(found) if found else None

    async def events(self, email_id: str) -> list[Event]:
        row = self._mail.rows.get(email_id)
        return list(row.events) if row else []

    async def page(self, project_id: str, cursor: CursorRequest, where: EmailFilter = ANY_EMAIL) -> CursorPage[Email]:
        rows = [r for r in self._mail.rows.values() if r.email.project_id == project_id and _picks(where, r.email)]
        total = min(len(rows), SEARCH_COUNTED + 1) if where.words and search.terms(where.words) else len(rows)
        descending = cursor.order is Order.DESC
        rows.sort(key=lambda r: r.seq, reverse=descending)
        if cursor.after is not None:
            anchor = self._mail.rows.get(cursor.after)
            if anchor is None or anchor.email.project_id != project_id:
                return CursorPage(items=[], total=total, has_more=False)
            rows = [r for r in rows if (r.seq < anchor.seq if descending else r.seq > anchor.seq)]
        chosen = rows[: cursor.limit]
        return CursorPage([evolve(r.email) for r in chosen], total, len(rows) > cursor.limit)

    async def record(
        self, email: Email, events: list[Event], notices: tuple[Notice, ...] = (), *, since: Email | None = None
    ) -> bool:
        row = self._mail.rows.get(email.id)
        if row is None or row.email.project_id != email.project_id:
            return False
        if since is not None and _engagement(row.email) != _engagement(since):
            return False
        row.email = rewritten(row.email, email)
        row.events.extend(events)
        self._webhooks.fan_out(email.project_id, notices)
        self._mail.contact_events.add_engagement(email, events)
        return True


class MemoryQuota:
    """QuotaUsage: what the quota charge has counted."""

    def __init__(self, mail: MailTable) -> None:
        self._mail = mail

    async def usage(self, project_id: str, counter: str, period: str) -> int:
        return self._mail.usage.get((project_id, counter, period), 0)


def _picks(where: EmailFilter, email: Email) -> bool:
    return (
        (where.status is None or email.status is where.status)
        and (where.test is None or email.test is where.test)
        and (where.recipient is None or (bool(email.to) and email.to[0].lower() == where.recipient.lower()))
        and (where.since is None or email.created_at >= where.since)
        and (where.until is None or email.created_at < where.until)
        and (not where.words or search.matches(search.email_words(email), search.terms(where.words)))
    )

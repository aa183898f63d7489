"""In-memory storage: a real adapter for embedding and for tests, not a fake.

All state lives in plain dicts owned by one event loop; methods never await in the middle of a
read-modify-write, so each one is atomic with respect to the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from attrs import define, evolve, field

from adapters.storage.memory.assets import MemoryAssets
from adapters.storage.memory.contacts import (
    MemoryCampaigns,
    MemoryContacts,
    MemoryLists,
    MemoryOtp,
    MemorySuppressions,
)
from adapters.storage.memory.imports import MemoryImports
from adapters.storage.memory.pacing import MemoryPacing
from adapters.storage.memory.users import MemoryUsers
from adapters.storage.memory.webhooks import MemoryWebhooks
from autorelay_core.domain.domains import Domain
from autorelay_core.domain.emails import Delivery, Email, EmailStatus, Event, EventType
from autorelay_core.domain.keys import ApiKey
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.domain.reputation import Activity
from autorelay_core.domain.templates import KEPT_VERSIONS, Template, TemplateVersion, version_of
from autorelay_core.domain.webhooks import Notice
from autorelay_core.errors import Conflict, QuotaExceeded
from autorelay_core.policies.idempotency import IN_FLIGHT_LEASE, RETENTION, Existing, StoredResponse
from autorelay_core.policies.pagination import CursorPage, CursorRequest, Order
from autorelay_core.policies.quota import Charge, exceeded_message
from autorelay_core.policies.rate_limit import Limit
from autorelay_core.ports import ANY_EMAIL, Claim, EmailFilter


class MemoryProjects:
    def __init__(self) -> None:
        self._rows: dict[str, Project] = {}

    async def add(self, project: Project) -> None:
        if any(p.name == project.name for p in self._rows.values()):
            raise Conflict(f"a project named {project.name!r} already exists")
        self._rows[project.id] = evolve(project)

    async def get(self, project_id: str) -> Project | None:
        project = self._rows.get(project_id)
        return evolve(project) if project else None

    async def get_by_name(self, name: str) -> Project | None:
        return next((evolve(p) for p in self._rows.values() if p.name == name), None)

    async def list(self) -> list[Project]:
        return [evolve(p) for p in self._rows.values()]

    async def set_status(self, project_id: str, status: AccountStatus, reason: str) -> None:
        project = self._rows[project_id]
        project.status, project.status_reason = status, reason

    async def set_uncertain_policy(self, project_id: str, *, transactional: bool, campaigns: bool) -> None:
        project = self._rows[project_id]
        project.resend_uncertain_transactional, project.resend_uncertain_campaigns = transactional, campaigns

    async def rename(self, project_id: str, name: str) -> None:
        if any(p.name == name and p.id != project_id for p in self._rows.values()):
            raise Conflict(f"a project named {name!r} already exists")
        self._rows[project_id].name = name

    async def set_tracking(self, project_id: str, *, opens: bool, clicks: bool) -> None:
        project = self._rows[project_id]
        project.track_opens, project.track_clicks = opens, clicks


class MemoryKeys:
    def __init__(self) -> None:
        self._rows: dict[str, ApiKey] = {}

    async def add(self, key: ApiKey) -> None:
        self._rows[key.id] = evolve(key)

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        return next((evolve(k) for k in self._rows.values() if k.key_hash == key_hash), None)

    async def list(self, project_id: str) -> list[ApiKey]:
        return [evolve(k) for k in self._rows.values() if k.project_id == project_id]

    async def revoke(self, key_id: str, at: datetime) -> bool:
        key = self._rows.get(key_id)
        if key is None:
            return False
        if key.revoked_at is None:
            key.revoked_at = at
        return True

    async def touch(self, key_id: str, at: datetime) -> None:
        if key_id in self._rows:
            self._rows[key_id].last_used_at = at


@define
class _OutboxRow:
    email: Email
    seq: int
    due_at: datetime
    delivery: Delivery = Delivery.PENDING
    lease_until: datetime | None = None
    attempts: int = 0
    events: list[Event] = field(factory=list)


_HELD_BY_A_WORKER = (Delivery.LEASED, Delivery.HANDOVER)


def _engagement(email: Email) -> tuple[EmailStatus, int, int]:
    return email.status, email.opens, email.clicks


class MemoryEmails:
    def __init__(self, webhooks: MemoryWebhooks) -> None:
        self._webhooks = webhooks
        self._rows: dict[str, _OutboxRow] = {}
        self._seq = 0
        self._usage: dict[tuple[str, str, str], int] = {}

    def _charge(self, project_id: str, charges: tuple[Charge, ...], amount: int) -> None:
        keys = [(project_id, c.counter, c.period) for c in charges]
        for key, charge in zip(keys, charges, strict=True):
            if self._usage.get(key, 0) + amount > charge.limit:
                raise QuotaExceeded(exceeded_message(charge, amount))
        for key in keys:
            self._usage[key] = self._usage.get(key, 0) + amount

    async def add(self, email: Email, events: list[Event], charges: tuple[Charge, ...] = ()) -> None:
        self._charge(email.project_id, charges, 1)
        self._seq += 1
        due = email.scheduled_at or email.created_at
        self._rows[email.id] = _OutboxRow(evolve(email), self._seq, due, events=list(events))

    async def add_many(self, emails: list[Email], events: list[Event], charges: tuple[Charge, ...] = ()) -> int:
        taken = {(r.email.campaign_id, r.email.contact_id) for r in self._rows.values() if r.email.campaign_id}
        new = []
        for email in emails:
            if (email.campaign_id, email.contact_id) in taken or email.id in self._rows:
                continue
            taken.add((email.campaign_id, email.contact_id))
            new.append(email)
        if new:
            self._charge(new[0].project_id, charges, len(new))
        for email in new:
            await self.add(email, list(events))
        return len(new)

    async def hold_campaign(self, campaign_id: str) -> int:
        rows = [r for r in self._rows.values() if r.email.campaign_id == campaign_id and r.delivery is Delivery.PENDING]
        for row in rows:
            row.delivery = Delivery.HELD
        return len(rows)

    async def release_campaign(self, campaign_id: str, now: datetime) -> int:
        rows = [r for r in self._rows.values() if r.email.campaign_id == campaign_id and r.delivery is Delivery.HELD]
        if rows:
            shift = max(now - min(r.due_at for r in rows), timedelta(0))
            for row in rows:
                row.delivery, row.due_at = Delivery.PENDING, row.due_at + shift
        return len(rows)

    async def campaign_statuses(self, campaign_id: str) -> dict[EmailStatus, int]:
        counts: dict[EmailStatus, int] = {}
        for row in self._rows.values():
            if row.email.campaign_id == campaign_id:
                counts[row.email.status] = counts.get(row.email.status, 0) + 1
        return counts

    async def usage(self, project_id: str, counter: str, period: str) -> int:
        return self._usage.get((project_id, counter, period), 0)

    async def get(self, project_id: str, email_id: str) -> Email | None:
        row = self._rows.get(email_id)
        if row is None or row.email.project_id != project_id:
            return None
        return evolve(row.email)

    async def locate(self, email_id: str) -> Email | None:
        row = self._rows.get(email_id)
        return evolve(row.email) if row else None

    async def by_provider_id(self, provider_message_id: str) -> Email | None:
        found = next((r.email for r in self._rows.values() if r.email.provider_message_id == provider_message_id), None)
        return evolve(found) if found else None

    async def events(self, email_id: str) -> list[Event]:
        row = self._rows.get(email_id)
        return list(row.events) if row else []

    async def page(self, project_id: str, cursor: CursorRequest, where: EmailFilter = ANY_EMAIL) -> CursorPage[Email]:
        rows = [r for r in self._rows.values() if r.email.project_id == project_id and _picks(where, r.email)]
        total = len(rows)
        descending = cursor.order is Order.DESC
        rows.sort(key=lambda r: r.seq, reverse=descending)
        if cursor.after is not None:
            anchor = self._rows.get(cursor.after)
            if anchor is None or anchor.email.project_id != project_id:
                return CursorPage(items=[], total=total, has_more=False)
            rows = [r for r in rows if (r.seq < anchor.seq if descending else r.seq > anchor.seq)]
        chosen = rows[: cursor.limit]
        return CursorPage([evolve(r.email) for r in chosen], total, len(rows) > cursor.limit)

    async def daily(self, project_id: str, since: datetime) -> list[tuple[str, str, int]]:
        counts: Counter[tuple[str, str]] = Counter()
        for row in self._rows.values():
            if row.email.project_id == project_id:
                for event in row.events:
                    if event.created_at >= since:
                        counts[(event.created_at.astimezone(UTC).strftime("%Y-%m-%d"), event.type.value)] += 1
        return sorted((day, kind, count) for (day, kind), count in counts.items())

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        due = [r.due_at for r in self._rows.values() if r.delivery is Delivery.PENDING and r.due_at <= now]
        return len(due), min(due, default=None)

    async def campaign_timeline(self, campaign_id: str) -> list[tuple[str, str, int]]:
        counts: Counter[tuple[str, str]] = Counter()
        for row in self._rows.values():
            if row.email.campaign_id == campaign_id:
                for event in row.events:
                    counts[(event.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"), event.type.value)] += 1
        return sorted((minute, kind, count) for (minute, kind), count in counts.items())

    async def campaign_links(self, campaign_id: str, limit: int) -> list[tuple[str, int]]:
        clicks: Counter[str] = Counter()
        for row in self._rows.values():
            if row.email.campaign_id == campaign_id:
                clicks.update(e.data["url"] for e in row.events if e.type is EventType.CLICKED and e.data.get("url"))
        return sorted(clicks.items(), key=lambda item: (-item[1], item[0]))[:limit]

    async def activity(self, project_id: str, since: datetime) -> Activity:
        counts = {EventType.SENT: 0, EventType.BOUNCED: 0, EventType.COMPLAINED: 0}
        for row in self._rows.values():
            if row.email.project_id != project_id or row.email.test:
                continue
            for event in row.events:
                if event.type in counts and event.created_at >= since:
                    counts[event.type] += 1
        return Activity(counts[EventType.SENT], counts[EventType.BOUNCED], counts[EventType.COMPLAINED])

    async def record(
        self, email: Email, events: list[Event], notices: tuple[Notice, ...] = (), *, since: Email | None = None
    ) -> bool:
        row = self._rows.get(email.id)
        if row is None or row.email.project_id != email.project_id:
            return False
        if since is not None and _engagement(row.email) != _engagement(since):
            return False
        row.email = evolve(email)
        row.events.extend(events)
        self._webhooks.fan_out(email.project_id, notices)
        return True

    async def claim(self, email_id: str, now: datetime, lease_until: datetime) -> Claim | None:
        row = self._rows.get(email_id)
        if row is None:
            return None
        free = row.delivery is Delivery.PENDING and row.due_at <= now
        expired = row.delivery is Delivery.LEASED and row.lease_until is not None and row.lease_until <= now
        if not (free or expired):
            return None
        row.delivery, row.lease_until = Delivery.LEASED, lease_until
        row.attempts += 1
        return Claim(email=evolve(row.email), attempt=row.attempts, lease_until=lease_until)

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Claim]:
        due = sorted(
            (r for r in self._rows.values() if r.delivery is Delivery.PENDING and r.due_at <= now),
            key=lambda r: (r.due_at, r.seq),
        )[:limit]
        claims = []
        for row in due:
            row.delivery, row.lease_until = Delivery.LEASED, lease_until
            row.attempts += 1
            claims.append(Claim(email=evolve(row.email), attempt=row.attempts, lease_until=lease_until))
        return claims

    def _holds(self, claim: Claim) -> _OutboxRow | None:
        row = self._rows.get(claim.email.id)
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

    async def claim_handovers(self, now: datetime, lease_until: datetime, limit: int) -> list[Claim]:
        found = [
            r
            for r in self._rows.values()
            if r.delivery is Delivery.HANDOVER and r.lease_until is not None and r.lease_until <= now
        ][:limit]
        for row in found:
            row.lease_until = lease_until
            row.attempts += 1
        return [Claim(email=evolve(r.email), attempt=r.attempts, lease_until=lease_until) for r in found]

    async def finish(self, claim: Claim, email: Email, events: list[Event], notices: tuple[Notice, ...] = ()) -> bool:
        row = self._holds(claim)
        if row is None:
            return False
        row.email = evolve(email)
        row.events.extend(events)
        self._webhooks.fan_out(email.project_id, notices)
        row.delivery, row.lease_until = Delivery.DONE, None
        return True

    async def reopen(self, project_id: str, email_id: str, at: datetime) -> bool:
        row = self._rows.get(email_id)
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
        found = [
            r
            for r in self._rows.values()
            if (r.delivery is Delivery.PENDING and r.due_at <= pending_before)
            or (r.delivery is Delivery.LEASED and r.lease_until is not None and r.lease_until <= now)
        ][:limit]
        for row in found:
            row.delivery, row.lease_until, row.due_at = Delivery.PENDING, None, now
        return [r.email.id for r in found]


def _picks(where: EmailFilter, email: Email) -> bool:
    return (
        (where.status is None or email.status is where.status)
        and (where.test is None or email.test is where.test)
        and (where.recipient is None or (bool(email.to) and email.to[0].lower() == where.recipient.lower()))
        and (where.since is None or email.created_at >= where.since)
        and (where.until is None or email.created_at < where.until)
    )


class MemoryTemplates:
    def __init__(self) -> None:
        self._rows: dict[str, Template] = {}
        self._versions: dict[str, list[TemplateVersion]] = {}

    def _keep(self, template: Template) -> None:
        kept = self._versions.setdefault(template.id, [])
        kept.insert(0, version_of(template, kept[0].number + 1 if kept else 1))
        del kept[KEPT_VERSIONS:]

    async def add(self, template: Template) -> None:
        self._rows[template.id] = evolve(template)
        self._keep(template)

    async def get(self, project_id: str, template_id: str) -> Template | None:
        template = self._rows.get(template_id)
        return evolve(template) if template and template.project_id == project_id else None

    async def list(self, project_id: str) -> list[Template]:
        return [evolve(t) for t in self._rows.values() if t.project_id == project_id]

    async def update(self, template: Template) -> None:
        self._rows[template.id] = evolve(template)
        self._keep(template)

    async def delete(self, project_id: str, template_id: str) -> bool:
        if await self.get(project_id, template_id) is None:
            return False
        del self._rows[template_id]
        self._versions.pop(template_id, None)
        return True

    async def versions(self, project_id: str, template_id: str) -> list[TemplateVersion]:
        if await self.get(project_id, template_id) is None:
            return []
        return [evolve(v) for v in self._versions.get(template_id, [])]


class MemoryDomains:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Domain] = {}

    async def get_by_name(self, project_id: str, name: str) -> Domain | None:
        domain = self._rows.get((project_id, name.lower()))
        return evolve(domain) if domain else None

    async def add(self, domain: Domain) -> None:
        if (domain.project_id, domain.name) in self._rows:
            raise Conflict(f"the project already has the domain {domain.name}")
        self._rows[(domain.project_id, domain.name)] = evolve(domain)

    async def update(self, domain: Domain) -> None:
        self._rows[(domain.project_id, domain.name)] = evolve(domain)

    async def count(self, project_id: str) -> int:
        return sum(1 for project, _ in self._rows if project == project_id)

    async def get(self, project_id: str, domain_id: str) -> Domain | None:
        return next((evolve(d) for d in self._rows.values() if d.id == domain_id and d.project_id == project_id), None)

    async def all(self, project_id: str) -> list[Domain]:
        return [evolve(d) for (project, _), d in self._rows.items() if project == project_id]

    async def delete(self, project_id: str, domain_id: str) -> bool:
        found = await self.get(project_id, domain_id)
        if found is None:
            return False
        del self._rows[(project_id, found.name)]
        return True


class MemoryLimitOverrides:
    def __init__(self) -> None:
        self._rows: dict[str, dict[str, Limit]] = {}

    async def get(self, project_id: str) -> dict[str, Limit]:
        return dict(self._rows.get(project_id, {}))

    async def set(self, project_id: str, endpoint: str, limit: Limit) -> None:
        self._rows.setdefault(project_id, {})[endpoint] = limit

    async def clear(self, project_id: str, endpoint: str) -> bool:
        return self._rows.get(project_id, {}).pop(endpoint, None) is not None


class MemoryIdempotency:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], tuple[str, datetime, StoredResponse | None]] = {}

    async def claim(self, project_id: str, key: str, fingerprint: str, now: datetime) -> Existing | None:
        row = self._rows.get((project_id, key))
        if row is not None:
            held, claimed_at, response = row
            if claimed_at > now - (RETENTION if response is not None else IN_FLIGHT_LEASE):
                return Existing(held, response)
        self._rows[(project_id, key)] = (fingerprint, now, None)
        return None

    async def complete(self, project_id: str, key: str, response: StoredResponse) -> None:
        fingerprint, claimed_at, _ = self._rows[(project_id, key)]
        self._rows[(project_id, key)] = (fingerprint, claimed_at, response)

    async def release(self, project_id: str, key: str) -> None:
        self._rows.pop((project_id, key), None)


class MemoryStorage:
    def __init__(self) -> None:
        self.projects = MemoryProjects()
        self.keys = MemoryKeys()
        self.webhooks = MemoryWebhooks()
        self.assets = MemoryAssets()
        self.emails = MemoryEmails(self.webhooks)
        self.templates = MemoryTemplates()
        self.limits = MemoryLimitOverrides()
        self.pacing = MemoryPacing()
        self.idempotency = MemoryIdempotency()
        self.domains = MemoryDomains()
        self.contacts = MemoryContacts()
        self.lists = MemoryLists(self.contacts)
        self.imports = MemoryImports()
        self.otp = MemoryOtp()
        self.suppressions = MemorySuppressions()
        self.campaigns = MemoryCampaigns()
        self.users = MemoryUsers()

    async def migrate(self) -> int:
        return 0

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

"""In-memory storage: a real adapter for embedding and for tests, not a fake.

All state lives in plain dicts owned by one event loop; methods never await in the middle of a
read-modify-write, so each one is atomic with respect to the others.
"""

from __future__ import annotations

import builtins
from datetime import datetime

from attrs import evolve

from adapters.storage.memory.assets import MemoryAssets
from adapters.storage.memory.contacts import (
    MemoryCampaigns,
    MemoryContacts,
    MemoryLists,
    MemoryOtp,
    MemorySuppressions,
)
from adapters.storage.memory.email_reports import MemoryActivity, MemoryCampaignMail
from adapters.storage.memory.emails import MailTable, MemoryEmails, MemoryQuota
from adapters.storage.memory.imports import MemoryImports
from adapters.storage.memory.inbound import MemoryInbound
from adapters.storage.memory.journeys import MemoryJourneys
from adapters.storage.memory.outbox import MemoryOutbox
from adapters.storage.memory.pacing import MemoryPacing
from adapters.storage.memory.properties import MemoryProperties
from adapters.storage.memory.segments import MemorySegments
from adapters.storage.memory.topics import MemoryTopics
from adapters.storage.memory.users import MemoryUsers
from adapters.storage.memory.webhooks import MemoryWebhooks
from autorelay_core.domain.domains import Domain
from autorelay_core.domain.keys import ApiKey
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.domain.templates import KEPT_VERSIONS, Template, TemplateVersion, version_of
from autorelay_core.errors import Conflict
from autorelay_core.policies.idempotency import IN_FLIGHT_LEASE, RETENTION, Existing, StoredResponse
from autorelay_core.policies.rate_limit import Limit


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

    async def set_webhooks_local(self, project_id: str, allowed: bool) -> None:
        self._rows[project_id].webhooks_local = allowed

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

    async def versions(self, project_id: str, template_id: str) -> builtins.list[TemplateVersion]:
        if await self.get(project_id, template_id) is None:
            return []
        return [evolve(v) for v in self._versions.get(template_id, [])]


class MemoryDomains:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Domain] = {}

    async def get_by_name(self, project_id: str, name: str) -> Domain | None:
        domain = self._rows.get((project_id, name.lower()))
        return evolve(domain) if domain else None

    async def named(self, name: str) -> list[Domain]:
        return [evolve(d) for (_, named), d in self._rows.items() if named == name.lower()]

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
        mail = MailTable()
        self.emails = MemoryEmails(mail, self.webhooks)
        self.outbox = MemoryOutbox(mail, self.webhooks)
        self.campaign_mail = MemoryCampaignMail(mail)
        self.quota = MemoryQuota(mail)
        self.activity = MemoryActivity(mail)
        self.contact_events = mail.contact_events
        self.templates = MemoryTemplates()
        self.limits = MemoryLimitOverrides()
        self.pacing = MemoryPacing()
        self.idempotency = MemoryIdempotency()
        self.domains = MemoryDomains()
        self.contacts = MemoryContacts()
        self.lists = MemoryLists(self.contacts)
        self.properties = MemoryProperties(self.contacts)
        self.segments = MemorySegments()
        self.topics = MemoryTopics()
        self.contacts.audience = (self.properties, mail.contact_events, self.topics)
        self.imports = MemoryImports()
        self.otp = MemoryOtp()
        self.suppressions = MemorySuppressions()
        self.campaigns = MemoryCampaigns()
        self.users = MemoryUsers()
        self.journeys = MemoryJourneys(mail, self.emails, self.webhooks)
        self.inbound = MemoryInbound(self.webhooks)

    async def migrate(self) -> int:
        return 0

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

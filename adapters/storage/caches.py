"""Short-lived, per-process caches in front of the lookups every request makes: its API key, its
project (for the account status), the project's rate-limit overrides, and its sending domains.

Caching for `ttl` seconds means a change made by another process (the CLI, another server) takes
effect within `ttl` seconds; a change made through this process takes effect at once. Misses are
not cached: a flood of unknown keys must not evict real ones. Each cache implements its whole port,
the methods it does not cache passing straight through, so a type checker sees that it honours it.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Generic, TypeVar

from autorelay_core.domain.domains import Domain, DomainStatus
from autorelay_core.domain.keys import ApiKey
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.policies.rate_limit import Limit
from autorelay_core.ports import DomainRepository, KeyRepository, LimitOverrides, ProjectRepository, Storage

T = TypeVar("T")


class _Ttl(Generic[T]):
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self._ttl, self._max = ttl, max_entries
        self._entries: dict[str, tuple[float, T]] = {}
        # Moved on by every drop: a load that began before a change may return the old value, and
        # must not put it back after the change dropped it.
        self._generation = 0

    async def get(
        self, key: str, load: Callable[[], Awaitable[T | None]], keep: Callable[[T], bool] = lambda _: True
    ) -> T | None:
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation
        value = await load()
        if value is not None and keep(value) and generation == self._generation:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[key] = (now + self._ttl, value)
        return value

    def drop(self, keep: Callable[[T], bool]) -> None:
        """Called after the change is written: any read from then on loads the new value."""
        self._generation += 1
        self._entries = {k: entry for k, entry in self._entries.items() if keep(entry[1])}


class CachedKeys:
    def __init__(self, inner: KeyRepository, ttl: float) -> None:
        self._inner = inner
        self._cache: _Ttl[ApiKey] = _Ttl(ttl)

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        return await self._cache.get(key_hash, lambda: self._inner.get_by_hash(key_hash))

    async def add(self, key: ApiKey) -> None:
        await self._inner.add(key)

    async def list(self, project_id: str) -> builtins.list[ApiKey]:
        return await self._inner.list(project_id)

    async def touch(self, key_id: str, at: datetime) -> None:
        await self._inner.touch(key_id, at)

    async def revoke(self, key_id: str, at: datetime) -> bool:
        done = await self._inner.revoke(key_id, at)
        self._cache.drop(lambda key: key.id != key_id)
        return done


class CachedProjects:
    def __init__(self, inner: ProjectRepository, ttl: float) -> None:
        self._inner = inner
        self._cache: _Ttl[Project] = _Ttl(ttl)

    async def get(self, project_id: str) -> Project | None:
        return await self._cache.get(project_id, lambda: self._inner.get(project_id))

    async def add(self, project: Project) -> None:
        await self._inner.add(project)

    async def get_by_name(self, name: str) -> Project | None:
        return await self._inner.get_by_name(name)

    async def list(self) -> builtins.list[Project]:
        return await self._inner.list()

    async def set_status(self, project_id: str, status: AccountStatus, reason: str) -> None:
        await self._inner.set_status(project_id, status, reason)
        self._cache.drop(lambda project: project.id != project_id)

    async def set_uncertain_policy(self, project_id: str, *, transactional: bool, campaigns: bool) -> None:
        await self._inner.set_uncertain_policy(project_id, transactional=transactional, campaigns=campaigns)
        self._cache.drop(lambda project: project.id != project_id)

    async def set_webhooks_local(self, project_id: str, allowed: bool) -> None:
        await self._inner.set_webhooks_local(project_id, allowed)
        self._cache.drop(lambda project: project.id != project_id)

    async def rename(self, project_id: str, name: str) -> None:
        await self._inner.rename(project_id, name)
        self._cache.drop(lambda project: project.id != project_id)

    async def set_tracking(self, project_id: str, *, opens: bool, clicks: bool) -> None:
        await self._inner.set_tracking(project_id, opens=opens, clicks=clicks)
        self._cache.drop(lambda project: project.id != project_id)


class CachedLimits:
    def __init__(self, inner: LimitOverrides, ttl: float) -> None:
        self._inner = inner
        self._cache: _Ttl[dict[str, Limit]] = _Ttl(ttl)

    async def get(self, project_id: str) -> dict[str, Limit]:
        return await self._cache.get(project_id, lambda: self._inner.get(project_id)) or {}

    async def set(self, project_id: str, endpoint: str, limit: Limit) -> None:
        await self._inner.set(project_id, endpoint, limit)
        self._cache.drop(lambda _: False)

    async def clear(self, project_id: str, endpoint: str) -> bool:
        done = await self._inner.clear(project_id, endpoint)
        self._cache.drop(lambda _: False)
        return done


class CachedDomains:
    """Only verified domains are cached: a domain verified elsewhere shows up at once."""

    def __init__(self, inner: DomainRepository, ttl: float) -> None:
        self._inner = inner
        self._cache: _Ttl[Domain] = _Ttl(ttl)

    async def get_by_name(self, project_id: str, name: str) -> Domain | None:
        return await self._cache.get(
            f"{project_id}|{name.lower()}",
            lambda: self._inner.get_by_name(project_id, name),
            keep=lambda domain: domain.status is DomainStatus.VERIFIED,
        )

    async def named(self, name: str) -> list[Domain]:
        return await self._inner.named(name)

    async def add(self, domain: Domain) -> None:
        await self._inner.add(domain)

    async def count(self, project_id: str) -> int:
        return await self._inner.count(project_id)

    async def get(self, project_id: str, domain_id: str) -> Domain | None:
        return await self._inner.get(project_id, domain_id)

    async def all(self, project_id: str) -> list[Domain]:
        return await self._inner.all(project_id)

    async def update(self, domain: Domain) -> None:
        await self._inner.update(domain)
        self._cache.drop(lambda _: False)

    async def delete(self, project_id: str, domain_id: str) -> bool:
        done = await self._inner.delete(project_id, domain_id)
        self._cache.drop(lambda _: False)
        return done


class CachedStorage:
    """A view of `inner` whose per-request lookups are cached: the object an embedder passed in is
    left as it was (its own repositories still read through to the database)."""

    def __init__(self, inner: Storage, ttl: float) -> None:
        self._inner = inner
        self.keys = CachedKeys(inner.keys, ttl)
        self.projects = CachedProjects(inner.projects, ttl)
        self.limits = CachedLimits(inner.limits, ttl)
        self.domains = CachedDomains(inner.domains, ttl)
        self.contacts = inner.contacts
        self.lists = inner.lists
        self.properties = inner.properties
        self.contact_events = inner.contact_events
        self.segments = inner.segments
        self.topics = inner.topics
        self.journeys = inner.journeys
        self.inbound = inner.inbound
        self.otp = inner.otp
        self.suppressions = inner.suppressions
        self.campaigns = inner.campaigns
        self.idempotency = inner.idempotency
        self.emails = inner.emails
        self.outbox = inner.outbox
        self.campaign_mail = inner.campaign_mail
        self.quota = inner.quota
        self.activity = inner.activity
        self.templates = inner.templates
        self.webhooks = inner.webhooks
        self.assets = inner.assets
        self.users = inner.users
        self.imports = inner.imports
        self.pacing = inner.pacing

    async def migrate(self) -> int:
        return await self._inner.migrate()

    async def ping(self) -> None:
        await self._inner.ping()

    async def close(self) -> None:
        await self._inner.close()

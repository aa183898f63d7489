"""Short-lived, per-process caches in front of the lookups every request makes: its API key, its
project (for the account status), the project's rate-limit overrides, and its sending domains.

Caching for `ttl` seconds means a change made by another process (the CLI, another server) takes
effect within `ttl` seconds; a change made through this process takes effect at once. Misses are
not cached: a flood of unknown keys must not evict real ones.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Generic, TypeVar

from autorelay_core.domain.domains import Domain, DomainStatus
from autorelay_core.domain.keys import ApiKey
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.policies.rate_limit import Limit
from autorelay_core.ports import DomainRepository, KeyRepository, LimitOverrides, ProjectRepository

T = TypeVar("T")


class _Ttl(Generic[T]):
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self._ttl, self._max = ttl, max_entries
        self._entries: dict[str, tuple[float, T]] = {}

    async def get(
        self, key: str, load: Callable[[], Awaitable[T | None]], keep: Callable[[T], bool] = lambda _: True
    ) -> T | None:
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = await load()
        if value is not None and keep(value):
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[key] = (now + self._ttl, value)
        return value

    def drop(self, keep: Callable[[T], bool]) -> None:
        self._entries = {k: entry for k, entry in self._entries.items() if keep(entry[1])}


class _Delegating:
    """Methods a cache does not define go straight to the repository it wraps."""

    _inner: object

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


class CachedKeys(_Delegating):
    def __init__(self, inner: KeyRepository, ttl: float) -> None:
        self._inner = inner
        self._cache: _Ttl[ApiKey] = _Ttl(ttl)

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        return await self._cache.get(key_hash, lambda: self._inner.get_by_hash(key_hash))

    async def revoke(self, key_id: str, at: datetime) -> bool:
        self._cache.drop(lambda key: key.id != key_id)
        return await self._inner.revoke(key_id, at)


class CachedProjects(_Delegating):
    def __init__(self, inner: ProjectRepository, ttl: float) -> None:
        self._inner = inner
        self._cache: _Ttl[Project] = _Ttl(ttl)

    async def get(self, project_id: str) -> Project | None:
        return await self._cache.get(project_id, lambda: self._inner.get(project_id))

    async def set_status(self, project_id: str, status: AccountStatus, reason: str) -> None:
        self._cache.drop(lambda project: project.id != project_id)
        await self._inner.set_status(project_id, status, reason)

    async def set_uncertain_policy(self, project_id: str, *, transactional: bool, campaigns: bool) -> None:
        self._cache.drop(lambda project: project.id != project_id)
        await self._inner.set_uncertain_policy(project_id, transactional=transactional, campaigns=campaigns)

    async def rename(self, project_id: str, name: str) -> None:
        self._cache.drop(lambda project: project.id != project_id)
        await self._inner.rename(project_id, name)

    async def set_tracking(self, project_id: str, *, opens: bool, clicks: bool) -> None:
        self._cache.drop(lambda project: project.id != project_id)
        await self._inner.set_tracking(project_id, opens=opens, clicks=clicks)


class CachedLimits(_Delegating):
    def __init__(self, inner: LimitOverrides, ttl: float) -> None:
        self._inner = inner
        self._cache: _Ttl[dict[str, Limit]] = _Ttl(ttl)

    async def get(self, project_id: str) -> dict[str, Limit]:
        return await self._cache.get(project_id, lambda: self._inner.get(project_id)) or {}

    async def set(self, project_id: str, endpoint: str, limit: Limit) -> None:
        self._cache.drop(lambda _: False)
        await self._inner.set(project_id, endpoint, limit)

    async def clear(self, project_id: str, endpoint: str) -> bool:
        self._cache.drop(lambda _: False)
        return await self._inner.clear(project_id, endpoint)


class CachedDomains(_Delegating):
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

    async def update(self, domain: Domain) -> None:
        self._cache.drop(lambda _: False)
        await self._inner.update(domain)

    async def delete(self, project_id: str, domain_id: str) -> bool:
        self._cache.drop(lambda _: False)
        return await self._inner.delete(project_id, domain_id)

"""Short-lived, per-process caches in front of the lookups every request makes: its API key and
its project (for the account status).

Caching for `ttl` seconds means a change made by another process (the CLI, another server) takes
effect within `ttl` seconds; a change made through this process takes effect at once.
"""

from __future__ import annotations

import time
from datetime import datetime

from autorelay_core.domain.keys import ApiKey
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.ports import KeyRepository, ProjectRepository


class CachedKeys:
    def __init__(self, inner: KeyRepository, ttl: float, max_entries: int = 10_000) -> None:
        self._inner = inner
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[str, tuple[float, ApiKey | None]] = {}

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        now = time.monotonic()
        hit = self._entries.get(key_hash)
        if hit is not None and hit[0] > now:
            return hit[1]
        key = await self._inner.get_by_hash(key_hash)
        if key is not None:  # unknown keys are not cached: a flood of guesses must not evict real ones
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[key_hash] = (now + self._ttl, key)
        return key

    async def add(self, key: ApiKey) -> None:
        await self._inner.add(key)

    async def list(self, project_id: str) -> list[ApiKey]:
        return await self._inner.list(project_id)

    async def revoke(self, key_id: str, at: datetime) -> bool:
        self._entries = {h: entry for h, entry in self._entries.items() if entry[1] is None or entry[1].id != key_id}
        return await self._inner.revoke(key_id, at)


class CachedProjects:
    def __init__(self, inner: ProjectRepository, ttl: float) -> None:
        self._inner = inner
        self._ttl = ttl
        self._entries: dict[str, tuple[float, Project]] = {}

    async def get(self, project_id: str) -> Project | None:
        now = time.monotonic()
        hit = self._entries.get(project_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        project = await self._inner.get(project_id)
        if project is not None:
            self._entries[project_id] = (now + self._ttl, project)
        return project

    async def add(self, project: Project) -> None:
        await self._inner.add(project)

    async def get_by_name(self, name: str) -> Project | None:
        return await self._inner.get_by_name(name)

    async def list(self) -> list[Project]:
        return await self._inner.list()

    async def set_status(self, project_id: str, status: AccountStatus, reason: str) -> None:
        self._entries.pop(project_id, None)
        await self._inner.set_status(project_id, status, reason)

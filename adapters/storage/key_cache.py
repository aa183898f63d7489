"""A short-lived, per-process cache in front of API-key lookups.

Every request authenticates, and the lookup is the only query most reads make. Caching a key for
`ttl` seconds means a revocation made by another process (the CLI, another server) takes effect
within `ttl` seconds; a revocation made through this process takes effect at once.
"""

from __future__ import annotations

import time
from datetime import datetime

from autorelay_core.domain.keys import ApiKey
from autorelay_core.ports import KeyRepository


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

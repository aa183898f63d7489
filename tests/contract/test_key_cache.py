"""The key cache in front of any key repository: hits, expiry and local revocation."""

from __future__ import annotations

import asyncio

from adapters.storage.caches import CachedKeys
from adapters.storage.memory.store import MemoryKeys
from autorelay_core.domain.keys import ApiKey, KeyMode
from tests.support import FakeClock

NOW = FakeClock().now()


def key(kid: str = "key_1") -> ApiKey:
    return ApiKey(kid, "prj", "k", KeyMode.LIVE, kid * 4, "abcd", ("full",), NOW)


async def test_revocation_elsewhere_shows_after_the_ttl_and_here_at_once():
    inner = MemoryKeys()
    await inner.add(key())
    cached = CachedKeys(inner, ttl=0.2)
    assert (await cached.get_by_hash("key_1" * 4)).revoked_at is None
    await inner.revoke("key_1", NOW)  # another process revokes it
    assert (await cached.get_by_hash("key_1" * 4)).revoked_at is None  # still cached
    await asyncio.sleep(0.25)
    assert (await cached.get_by_hash("key_1" * 4)).revoked_at == NOW

    await inner.add(key("key_2"))
    assert (await cached.get_by_hash("key_2" * 4)).revoked_at is None
    await cached.revoke("key_2", NOW)  # revoked through this process: no wait
    assert (await cached.get_by_hash("key_2" * 4)).revoked_at == NOW


async def test_unknown_keys_are_not_cached():
    inner = MemoryKeys()
    cached = CachedKeys(inner, ttl=60)
    assert await cached.get_by_hash("key_3" * 4) is None
    await inner.add(key("key_3"))
    assert await cached.get_by_hash("key_3" * 4) is not None


async def test_domains_are_cached_only_once_verified():
    from adapters.storage.caches import CachedDomains
    from adapters.storage.memory.store import MemoryDomains
    from autorelay_core.domain.domains import Domain, DomainStatus

    inner = MemoryDomains()
    cached = CachedDomains(inner, ttl=60)
    pending = Domain("dom_1", "prj", "example.com", NOW)
    await inner.add(pending)
    assert (await cached.get_by_name("prj", "example.com")).status is DomainStatus.PENDING
    pending.status, pending.verified_at = DomainStatus.VERIFIED, NOW
    await inner.update(pending)  # verified by another process: seen at once, pending was not cached
    assert (await cached.get_by_name("prj", "Example.com")).status is DomainStatus.VERIFIED


async def test_a_read_racing_a_change_made_here_never_puts_the_old_value_back():
    """A lookup that began before this process changed a project (a background pass reading the
    account's status) returns the old value to its own caller, but never caches it: the next read
    sees the change at once. Seen on PostgreSQL, where the read and the write interleave."""
    from adapters.storage.caches import CachedProjects
    from adapters.storage.memory.store import MemoryProjects
    from autorelay_core.domain.projects import AccountStatus, Project

    inner = MemoryProjects()
    await inner.add(Project(id="prj", name="p", created_at=NOW))
    reading, finish = asyncio.Event(), asyncio.Event()
    plain_get = inner.get

    async def slow_get(project_id: str):
        found = await plain_get(project_id)  # the old row, read before the change is written
        reading.set()
        await finish.wait()
        return found

    inner.get = slow_get
    cached = CachedProjects(inner, ttl=60)
    racing = asyncio.create_task(cached.get("prj"))
    await reading.wait()
    await cached.set_status("prj", AccountStatus.SUSPENDED, "complaints")
    finish.set()
    assert (await racing).status is AccountStatus.ACTIVE  # what that reader saw
    inner.get = plain_get
    assert (await cached.get("prj")).status is AccountStatus.SUSPENDED  # not the old value, cached

"""The sliding-window rule, over every rate-limit store (Postgres and Redis when their test URLs are set)."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.limits.memory import MemoryRateLimits
from adapters.storage.postgres.store import PostgresStorage
from adapters.storage.sqlite.store import SqliteStorage
from autorelay_core.policies.rate_limit import Limit, parse_limit, retry_after
from tests.backends import POSTGRES_URL, REDIS_URL, drop_postgres_schema, new_postgres_schema

STORES = ["memory", "sqlite"] + (["postgres"] if POSTGRES_URL else []) + (["redis"] if REDIS_URL else [])


@pytest.fixture(params=STORES)
def make_store(request, tmp_path):
    """`async with make_store() as store`: a fresh, empty store, closed on the loop that used it."""
    schema = None
    if request.param == "postgres":
        schema, url = new_postgres_schema()

    @asynccontextmanager
    async def make():
        if request.param == "memory":
            yield MemoryRateLimits()
            return
        if request.param == "redis":
            from adapters.limits.redis import RedisRateLimits

            store = RedisRateLimits(REDIS_URL, prefix=f"test:{uuid.uuid4().hex}:")
            try:
                yield store
            finally:
                await store.close()
            return
        bucket_prefix = uuid.uuid4().hex  # the SQL stores are shared by the test's examples
        storage = SqliteStorage(tmp_path / "limits.db") if request.param == "sqlite" else PostgresStorage(url)
        try:
            yield _Prefixed(storage.rate_limits, bucket_prefix)
        finally:
            await storage.close()

    yield make
    if schema:
        drop_postgres_schema(schema)


class _Prefixed:
    def __init__(self, store, prefix: str) -> None:
        self._store, self._prefix = store, prefix

    async def hit(self, bucket: str, now: float, limit: Limit):
        return await self._store.hit(self._prefix + bucket, now, limit)

    async def forget(self, bucket: str) -> None:
        await self._store.forget(self._prefix + bucket)


arrivals = st.lists(st.floats(min_value=0, max_value=300, allow_nan=False), min_size=1, max_size=60).map(sorted)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(times=arrivals, count=st.integers(1, 6), window=st.sampled_from([1.0, 10.0, 60.0]))
def test_no_window_ever_holds_more_than_the_limit(make_store, times, count, window):
    limit = Limit(count, window)

    async def run() -> list[float]:
        async with make_store() as store:
            return [t for t in times if (await store.hit("bucket", t, limit)).allowed]

    accepted = asyncio.run(run())
    for start in accepted:
        inside = [t for t in accepted if start <= t < start + window]
        assert len(inside) <= count
    # A request is refused only when the window before it is full.
    for t in times:
        if t not in accepted:
            assert len([a for a in accepted if t - window < a <= t]) >= count


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(times=arrivals, count=st.integers(1, 5), window=st.sampled_from([1.0, 60.0]))
def test_retrying_after_retry_after_passes(make_store, times, count, window):
    limit = Limit(count, window)

    async def run() -> None:
        async with make_store() as store:
            for t in times:
                admission = await store.hit("bucket", t, limit)
                if not admission.allowed:
                    wait = retry_after(admission, t, limit)
                    assert wait >= 1 and isinstance(wait, int)
                    retried = await store.hit("bucket", t + wait, limit)
                    assert retried.allowed, f"refused again after waiting {wait} s"
                    return

    asyncio.run(run())


async def test_buckets_are_independent(make_store):
    limit = Limit(1, 60)
    async with make_store() as store:
        assert (await store.hit("a", 0, limit)).allowed
        assert not (await store.hit("a", 1, limit)).allowed
        assert (await store.hit("b", 1, limit)).allowed


async def test_a_forgotten_bucket_starts_afresh_and_the_others_keep_theirs(make_store):
    limit = Limit(2, 60)
    async with make_store() as store:
        for bucket in ("a", "b"):
            assert (await store.hit(bucket, 0, limit)).allowed and (await store.hit(bucket, 1, limit)).allowed
        await store.forget("a")
        await store.forget("never-used")
        again = await store.hit("a", 2, limit)
        assert again.allowed and again.used == 1
        assert (await store.hit("a", 3, limit)).allowed and not (await store.hit("a", 4, limit)).allowed
        assert not (await store.hit("b", 2, limit)).allowed


def test_operator_limits_parse():
    assert parse_limit("100/min") == Limit(100, 60)
    assert parse_limit("5/hour") == Limit(5, 3600)
    assert parse_limit("3/30s") == Limit(3, 30)
    with pytest.raises(Exception, match="not a limit"):
        parse_limit("lots")


async def test_hundreds_of_hits_at_once_are_each_answered_and_the_limit_holds(make_store):
    """A worker checks the pace of every delivery in its passes at once (hundreds): each hit gets
    its answer. redis-py's default pool refused the 101st connection (MaxConnectionsError, which
    stopped the worker's passes and left their emails leased for a minute); PostgreSQL's batches."""
    limit = Limit(250, 60)
    async with make_store() as store:
        answers = await asyncio.gather(*(store.hit("burst", n / 1000, limit) for n in range(400)))
    assert sum(a.allowed for a in answers) == 250
    assert max(a.used for a in answers) == 250

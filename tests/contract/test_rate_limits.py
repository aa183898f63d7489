"""The sliding-window rule, over every rate-limit store (Redis when AUTORELAY_REDIS_URL is set)."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.limits.memory import MemoryRateLimits
from adapters.storage.sqlite import SqliteStorage
from autorelay_core.policies.rate_limit import Limit, parse_limit, retry_after

STORES = ["memory", "sqlite"] + (["redis"] if os.environ.get("AUTORELAY_REDIS_URL") else [])


@pytest.fixture(params=STORES)
def make_store(request, tmp_path):
    opened = []

    def make():
        if request.param == "memory":
            return MemoryRateLimits()
        if request.param == "sqlite":
            storage = SqliteStorage(tmp_path / f"{uuid.uuid4().hex}.db")
            opened.append(storage)
            return storage.rate_limits
        from adapters.limits.redis import RedisRateLimits

        return RedisRateLimits(os.environ["AUTORELAY_REDIS_URL"], prefix=f"test:{uuid.uuid4().hex}:")

    yield make
    for storage in opened:
        asyncio.run(storage.close())


arrivals = st.lists(st.floats(min_value=0, max_value=300, allow_nan=False), min_size=1, max_size=60).map(sorted)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(times=arrivals, count=st.integers(1, 6), window=st.sampled_from([1.0, 10.0, 60.0]))
def test_no_window_ever_holds_more_than_the_limit(make_store, times, count, window):
    limit = Limit(count, window)

    async def run() -> list[float]:
        store = make_store()
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
        store = make_store()
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
    store = make_store()
    limit = Limit(1, 60)
    assert (await store.hit("a", 0, limit)).allowed
    assert not (await store.hit("a", 1, limit)).allowed
    assert (await store.hit("b", 1, limit)).allowed


def test_operator_limits_parse():
    assert parse_limit("100/min") == Limit(100, 60)
    assert parse_limit("5/hour") == Limit(5, 3600)
    assert parse_limit("3/30s") == Limit(3, 30)
    with pytest.raises(Exception, match="not a limit"):
        parse_limit("lots")

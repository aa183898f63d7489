"""The JobQueue port over every adapter: Huey on SQLite (with the embedded consumer, and with the
polling workers it falls back to), Huey on Redis (when AUTORELAY_TEST_REDIS_URL is set), and the
asyncio queue. A wake starts a pass soon; a wake with an eta starts one no earlier than the eta;
a pass starts after the last wake of a burst (which Huey coalesces into a few tasks)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from adapters.queue.asyncio_queue import AsyncioJobQueue
from adapters.queue.huey_queue import EmbeddedConsumer, HueyJobQueue, make_huey
from adapters.system.clock_ids import SystemClock
from tests import backends

POLL = 0.05


class Passes:
    """When each pass started (monotonic seconds), whichever thread or task ran it."""

    def __init__(self) -> None:
        self.started: list[float] = []
        self._lock = threading.Lock()

    def record(self) -> None:
        with self._lock:
            self.started.append(time.monotonic())

    async def until(self, count: int, within: float) -> None:
        deadline = time.monotonic() + within
        while len(self.started) < count and time.monotonic() < deadline:  # noqa: ASYNC110 (threads record)
            await asyncio.sleep(0.01)


def _huey_queue(tmp_path, passes: Passes, *, redis: bool = False, polling: bool = False):
    name = f"q{uuid.uuid4().hex[:10]}"
    huey = make_huey(name=name, redis_url=backends.REDIS_URL if redis else None, sqlite_path=tmp_path / "q.db")
    queue = HueyJobQueue(huey, passes.record)
    consumer = EmbeddedConsumer(huey, 2, POLL, internals=("_a_part_no_huey_has",) if polling else ())
    assert consumer.polling is polling
    consumer.start()
    return queue, lambda: (consumer.stop(), huey.flush())


@pytest.fixture(params=["huey-sqlite", "huey-sqlite-polling", "huey-redis", "asyncio"])
async def queue(request, tmp_path):
    passes = Passes()
    if request.param == "asyncio":

        async def run_pass() -> None:
            passes.record()

        yield AsyncioJobQueue(run_pass, SystemClock()), passes, request.param
        return
    if request.param == "huey-redis" and not backends.REDIS_URL:
        pytest.skip("AUTORELAY_TEST_REDIS_URL is not set")
    made, stop = _huey_queue(
        tmp_path, passes, redis=request.param == "huey-redis", polling=request.param.endswith("polling")
    )
    yield made, passes, request.param
    await asyncio.to_thread(stop)


async def test_a_wake_starts_a_pass_soon(queue):
    jobs, passes, _ = queue
    woken = time.monotonic()
    jobs.wake()
    await passes.until(1, within=5)
    assert passes.started and passes.started[0] >= woken


async def test_a_wake_with_an_eta_starts_a_pass_no_earlier_than_the_eta(queue):
    jobs, passes, _ = queue
    woken = time.monotonic()
    jobs.wake(datetime.now(UTC) + timedelta(seconds=1))
    await asyncio.sleep(0.7)
    assert passes.started == []  # not yet
    await passes.until(1, within=5)
    # Huey's schedule is kept in whole seconds' resolution on some stores: allow 50 ms early.
    assert passes.started and passes.started[0] >= woken + 0.95


async def test_a_burst_of_wakes_is_coalesced_and_a_pass_starts_after_the_last(queue):
    jobs, passes, name = queue
    for _ in range(200):
        jobs.wake()
        await asyncio.sleep(0)
    last_wake = time.monotonic()
    await passes.until(1, within=5)
    await asyncio.sleep(0.5)  # any pass still owed to the burst starts by now
    if name.startswith("huey"):  # a Huey task per wake would flood the store: wakes share a task
        assert 1 <= len(passes.started) <= 20, len(passes.started)
    assert max(passes.started) >= last_wake - 0.05  # the window of one coalesced wake at most

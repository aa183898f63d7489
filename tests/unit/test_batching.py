"""The PostgreSQL group commit's batching (adapters/storage/postgres/batch.py) with stand-in calls;
tests/contract runs it on the real database."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from adapters.batching import Batcher


class Calls:
    def __init__(self, fail_many: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.fail_many = fail_many
        self.out = 0  # batches on their way now

    async def one(self, n: int) -> int:
        self.batches.append([n])
        await asyncio.sleep(0.001)
        if n < 0:
            raise ValueError(f"bad {n}")
        return n * 10

    async def many(self, ns: list[int]) -> list[int]:
        self.out += 1
        assert self.out == 1, "one batch at a time"
        self.batches.append(list(ns))
        await asyncio.sleep(0.001)
        self.out -= 1
        if self.fail_many or any(n < 0 for n in ns):
            raise ValueError("the batch failed")
        return [n * 10 for n in ns]


async def test_calls_that_arrive_together_share_a_batch_and_get_their_own_results():
    calls = Calls()
    batcher = Batcher(calls.one, calls.many, most=4)
    results = await asyncio.gather(*(batcher.run(n) for n in range(10)))
    assert results == [n * 10 for n in range(10)]
    assert calls.batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


async def test_calls_arriving_while_a_batch_is_out_form_the_next():
    calls = Calls()
    batcher = Batcher(calls.one, calls.many)
    first = asyncio.gather(*(batcher.run(n) for n in range(3)))
    await asyncio.sleep(0)  # the first batch leaves
    second = asyncio.gather(*(batcher.run(n) for n in range(3, 6)))
    assert await first == [0, 10, 20] and await second == [30, 40, 50]
    assert calls.batches == [[0, 1, 2], [3, 4, 5]]


async def test_a_failing_batch_runs_each_call_alone_and_only_the_bad_one_fails():
    calls = Calls()
    batcher = Batcher(calls.one, calls.many)
    results = await asyncio.gather(*(batcher.run(n) for n in (1, -2, 3)), return_exceptions=True)
    assert results[0] == 10 and results[2] == 30
    assert isinstance(results[1], ValueError) and str(results[1]) == "bad -2"
    assert calls.batches == [[1, -2, 3], [1], [-2], [3]]


async def test_a_caller_gone_before_its_batch_left_is_not_run():
    calls = Calls()
    batcher = Batcher(calls.one, calls.many)
    kept = asyncio.ensure_future(batcher.run(1))
    gone = asyncio.ensure_future(batcher.run(2))
    await asyncio.sleep(0)
    gone.cancel()
    assert await kept == 10
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert calls.batches == [[1]]


async def test_a_batch_cancelled_with_its_loop_leaves_nobody_waiting():
    calls = Calls()
    batcher = Batcher(calls.one, calls.many)
    waiting = [asyncio.ensure_future(batcher.run(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert batcher._running is not None
    batcher._running.cancel()
    done = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(d, asyncio.CancelledError) for d in done)


def test_a_batch_left_behind_by_an_ended_loop_does_not_hold_up_the_next_loop():
    calls = Calls()
    batcher = Batcher(calls.one, calls.many)
    old = asyncio.new_event_loop()
    stranded = old.create_future()
    batcher._running = SimpleNamespace(get_loop=lambda: old)  # a task of a loop stopped mid-batch
    batcher._pending.append((0, stranded))
    old.close()

    async def later() -> int:
        return await batcher.run(7)

    assert asyncio.run(later()) == 70

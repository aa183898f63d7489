"""Group commit for a shared backend: calls made while a batch is on its way wait for the next one,
which takes them all in one round trip (PostgreSQL: one statement and one commit; Redis: one script).

Each send on PostgreSQL was two round trips (its rate-limit hit, its insert), each with a pool
checkout, a statement and a commit: the API process spent about a millisecond of CPU a request
around two cheap statements. Batched, a burst of sends costs one of each per batch. A caller
returns only after its batch committed: durability is unchanged. When a batch fails, each of its
calls runs again alone, so that one bad call (over the quota, a NUL in its text) fails only itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger("autorelay.batching")
I = TypeVar("I")  # noqa: E741 - one call's input
R = TypeVar("R")

# A batch's size bound: its arrays stay small enough to convert in one go, and a burst larger than
# this is taken in several batches one after another.
MOST = 64


class Batcher(Generic[I, R]):
    """`one` runs a single call; `many` runs several in one statement, returning their results in
    order (or raising: then each runs again through `one`)."""

    def __init__(
        self,
        one: Callable[[I], Awaitable[R]],
        many: Callable[[list[I]], Awaitable[list[R]]],
        most: int = MOST,
    ) -> None:
        self._one, self._many, self._most = one, many, most
        self._pending: list[tuple[I, asyncio.Future[R]]] = []
        self._batch: list[tuple[I, asyncio.Future[R]]] = []  # the one on its way
        self._running: asyncio.Task[None] | None = None

    async def run(self, item: I) -> R:
        loop = asyncio.get_running_loop()
        if self._running is not None and self._running.get_loop() is not loop:
            # Left behind by a loop that ended without cancelling it: that batch will never come.
            self._running, self._batch, self._pending = None, [], []
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if self._running is None:
            # One batch at a time: those who come while it is out form the next.
            self._running = loop.create_task(self._drain())
            self._running.add_done_callback(self._ended)
        return await future

    async def _drain(self) -> None:
        while self._pending:
            self._batch, self._pending = self._pending[: self._most], self._pending[self._most :]
            # A caller that went away before its batch left is not run (no answer was given).
            batch = [(item, future) for item, future in self._batch if not future.done()]
            if batch:
                await self._settle(batch)
            self._batch = []
        # Here, not in a done callback: a call arriving between the task's end and its callbacks
        # would find it still "running" and wait for a batch that never comes.
        self._running = None

    def _ended(self, task: asyncio.Task[None]) -> None:
        """Cancelled with its loop (even before it began), or broken: nobody is left waiting for ever."""
        if task.cancelled() or task.exception() is not None:
            if self._running is task:
                self._running = None
            for _, future in self._batch + self._pending:
                future.cancel()
            self._batch, self._pending = [], []

    async def _settle(self, batch: list[tuple[I, asyncio.Future[R]]]) -> None:
        if len(batch) > 1:
            try:
                results = await self._many([item for item, _ in batch])
            except Exception as error:  # each call gets its own answer below
                log.debug("a batch of %d failed (%s): each runs alone", len(batch), type(error).__name__)
            else:
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
                return
        for item, future in batch:
            try:
                result = await self._one(item)
            except Exception as error:  # that caller's error, and only theirs
                if not future.done():
                    future.set_exception(error)
            else:
                if not future.done():
                    future.set_result(result)

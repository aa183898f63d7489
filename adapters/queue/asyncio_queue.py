"""Delivery passes on the running asyncio loop: for embedding the core in a Python program or a
test, where a separate consumer would be overkill. Passes do not survive the process; the outbox
and the reconciler still guarantee delivery after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from autorelay_core.ports import Clock


class AsyncioJobQueue:
    def __init__(self, run_pass: Callable[[], Awaitable[object]], clock: Clock) -> None:
        self._run_pass = run_pass
        self._clock = clock
        self._tasks: set[asyncio.Future] = set()
        self._running = False
        self._again = False

    def wake(self, eta: datetime | None = None) -> None:
        loop = asyncio.get_running_loop()
        delay = 0.0 if eta is None else max(0.0, (eta - self._clock.now()).total_seconds())
        task = loop.create_task(self._later(delay) if delay else self._pass())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._pass()

    async def _pass(self) -> None:
        # One pass at a time; a wake during a pass earns one more pass after it.
        if self._running:
            self._again = True
            return
        self._running = True
        try:
            while True:
                self._again = False
                await self._run_pass()
                if not self._again:
                    break
        finally:
            self._running = False

    async def drain(self) -> None:
        """Wait until every pass woken so far (and any they wake) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

"""A job queue on the running asyncio loop: for embedding the core in a Python program or a test,
where a separate consumer would be overkill. Jobs do not survive the process; the outbox and the
reconciler still guarantee delivery after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from autorelay_core.ports import Clock


class AsyncioJobQueue:
    def __init__(self, deliver: Callable[[str], Awaitable[object]], clock: Clock) -> None:
        self._deliver = deliver
        self._clock = clock
        self._tasks: set[asyncio.Future] = set()

    def enqueue_delivery(self, email_id: str, eta: datetime | None = None) -> None:
        loop = asyncio.get_running_loop()
        delay = 0.0 if eta is None else max(0.0, (eta - self._clock.now()).total_seconds())
        handle = loop.create_task(self._run_later(email_id, delay))
        self._tasks.add(handle)
        handle.add_done_callback(self._tasks.discard)

    async def _run_later(self, email_id: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        await self._deliver(email_id)

    async def drain(self) -> None:
        """Wait until every job enqueued so far (and any they enqueue) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

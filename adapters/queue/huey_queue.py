"""Huey as the job queue: it only triggers work; the outbox rows in the database are the truth.

`make_huey` builds the instance (SQLite file for the embedded profile, Redis in production, memory
for embedding); `install` registers the one task and returns the JobQueue adapter. A task runs a
coroutine on the process's event loop through `runner`, so that every delivery shares the
process's storage connections and mailer pools.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from huey import MemoryHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer

log = logging.getLogger("autorelay.queue")


def make_huey(*, sqlite_path: str | Path | None = None, redis_url: str | None = None) -> Huey:
    # results=False: outcomes live in the outbox rows, not in Huey's result store.
    if redis_url:
        from huey import RedisHuey

        return RedisHuey("autorelay", url=redis_url, results=False, blocking=True)
    if sqlite_path:
        return SqliteHuey("autorelay", filename=str(sqlite_path), results=False)
    return MemoryHuey("autorelay", results=False)


class HueyJobQueue:
    def __init__(self, huey: Huey, deliver: Callable[[str], object]) -> None:
        self.huey = huey

        @huey.task(name="deliver_email")
        def deliver_email(email_id: str) -> None:
            deliver(email_id)

        self._task = deliver_email

    def enqueue_delivery(self, email_id: str, eta: datetime | None = None) -> None:
        if eta is None:
            self._task(email_id)
        else:
            self._task.schedule(args=(email_id,), eta=eta)


class EmbeddedConsumer:
    """Huey's consumer on threads inside another process (the API server).

    Huey's `Consumer.start()` installs signal handlers, which belong to uvicorn here, so this starts
    the consumer's scheduler and worker threads directly and stops them gracefully on shutdown.
    """

    def __init__(self, huey: Huey, workers: int, poll_interval: float) -> None:
        self._consumer = Consumer(
            huey,
            workers=workers,
            worker_type="thread",
            initial_delay=poll_interval,
            max_delay=poll_interval,
            periodic=False,
            check_worker_health=False,
        )
        self._started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._consumer.scheduler.start()
            for _, thread in self._consumer.worker_threads:
                thread.start()
            self._started = True
            log.info("in-process queue consumer started with %d worker(s)", len(self._consumer.worker_threads))

    def stop(self) -> None:
        with self._lock:
            if self._started:
                self._consumer.stop(graceful=True)
                self._started = False


def run_consumer(huey: Huey, workers: int, poll_interval: float) -> None:
    """Run Huey's own consumer in this (main) thread until a signal stops it: `autorelay worker`."""
    Consumer(
        huey,
        workers=workers,
        worker_type="thread",
        initial_delay=poll_interval,
        max_delay=poll_interval,
        periodic=False,
    ).run()

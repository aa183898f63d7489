"""Huey as the job queue: it only triggers delivery passes; the outbox rows are the truth.

`make_huey` builds the instance (SQLite file for the embedded profile, Redis in production, memory
for embedding); `HueyJobQueue` registers the one task, `deliver_due`, whose body runs a coroutine
on the process's event loop (through `run_pass`), so that deliveries share the process's storage
connections and mailer pools.

Wakes are coalesced: the first wake after a quiet spell enqueues a task at once, and any number of
wakes during the next `window` seconds enqueue exactly one more, after the window. Every wake is
thus followed by a task that starts after it, at a cost of at most 1/window enqueues a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from huey import MemoryHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer

log = logging.getLogger("autorelay.queue")


def make_huey(*, name: str = "autorelay", sqlite_path: str | Path | None = None, redis_url: str | None = None) -> Huey:
    # results=False: outcomes live in the outbox rows, not in Huey's result store.
    if redis_url:
        from huey import RedisHuey

        return RedisHuey(name, url=redis_url, results=False, blocking=True)
    if sqlite_path:
        return SqliteHuey(name, filename=str(sqlite_path), results=False)
    return MemoryHuey(name, results=False)


class HueyJobQueue:
    def __init__(self, huey: Huey, run_pass: Callable[[], object], window: float = 0.02) -> None:
        self.huey = huey
        self._window = window
        self._wanted = threading.Event()
        self._waker: threading.Thread | None = None
        self._lock = threading.Lock()

        @huey.task(name="deliver_due")
        def deliver_due() -> None:
            run_pass()

        self._task = deliver_due

    def wake(self, eta: datetime | None = None) -> None:
        if eta is not None:
            self._task.schedule(eta=eta)
            return
        if not self._wanted.is_set():  # a plain read: most wakes during a burst stop here
            self._wanted.set()
        if self._waker is None:
            with self._lock:
                if self._waker is None:
                    self._waker = threading.Thread(target=self._enqueue_forever, name="autorelay-waker", daemon=True)
                    self._waker.start()

    def _enqueue_forever(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                self._task()
            except Exception:
                log.exception("could not enqueue a delivery pass")
            time.sleep(self._window)  # wakes meanwhile collapse into the next task


# The parts of Huey's Consumer that EmbeddedConsumer starts by hand (not public API). Without them
# it falls back to PollingWorkers. An upstream Consumer.start(install_signal_handlers=False) would
# remove both.
_CONSUMER_INTERNALS = ("scheduler", "worker_threads", "stop")


class EmbeddedConsumer:
    """Huey's consumer on threads inside another process (the API server).

    Huey's `Consumer.start()` installs signal handlers, which belong to uvicorn here, so this starts
    the consumer's scheduler and worker threads directly and stops them gracefully on shutdown. A
    Huey whose Consumer no longer has those parts gets `PollingWorkers` instead (public API only).
    """

    def __init__(self, huey: Huey, workers: int, poll_interval: float, *, internals: tuple[str, ...] = ()) -> None:
        # No health checks: they restart threads through signal-driven paths uvicorn owns.
        consumer = _consumer(huey, workers, poll_interval, check_worker_health=False)
        needed = _CONSUMER_INTERNALS + internals
        self._consumer: Consumer | PollingWorkers = consumer
        if not all(hasattr(consumer, name) for name in needed):
            log.warning("this Huey's consumer has no %s: polling workers instead", "/".join(needed))
            self._consumer = PollingWorkers(huey, workers, poll_interval)
        self._started = False
        self._lock = threading.Lock()

    @property
    def polling(self) -> bool:
        return isinstance(self._consumer, PollingWorkers)

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            if isinstance(self._consumer, PollingWorkers):
                self._consumer.start()
            else:
                self._consumer.scheduler.start()
                for _, thread in self._consumer.worker_threads:
                    thread.start()
            self._started = True
            log.info("in-process queue consumer started")

    def stop(self) -> None:
        with self._lock:
            if self._started:
                self._consumer.stop(graceful=True)
                self._started = False


class PollingWorkers:
    """Worker threads on Huey's public API alone (dequeue, ready_to_run, execute, the schedule): the
    fallback when the Consumer's parts EmbeddedConsumer starts are not there."""

    def __init__(self, huey: Huey, workers: int, poll_interval: float) -> None:
        self._huey, self._poll = huey, poll_interval
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"autorelay-queue-{n}", daemon=True) for n in range(workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, graceful: bool = True) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=30 if graceful else 0)

    def _work(self) -> None:
        huey = self._huey
        while not self._stopping.is_set():
            try:
                for due in huey.read_schedule():
                    huey.enqueue(due)
                task = huey.dequeue()
                if task is None:
                    self._stopping.wait(self._poll)
                elif not huey.ready_to_run(task):
                    huey.add_schedule(task)
                else:
                    huey.execute(task)
            except Exception:  # a broken task or a blip of the store: the next round goes on
                log.exception("queue worker")
                self._stopping.wait(self._poll)


def run_consumer(huey: Huey, workers: int, poll_interval: float) -> None:
    """Run Huey's own consumer in this (main) thread until a signal stops it: `autorelay worker`."""
    _consumer(huey, workers, poll_interval).run()


def _consumer(huey: Huey, workers: int, poll_interval: float, **options: object) -> Consumer:
    # Threads, not processes: a pass spends its time waiting on I/O on the process's event loop.
    return Consumer(
        huey,
        workers=workers,
        worker_type="thread",
        initial_delay=poll_interval,
        max_delay=poll_interval,
        periodic=False,
        **options,
    )

"""What a running process holds: the core's ports and the background machinery, with start and stop."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from adapters.mailers.kept import KeptMessages
from adapters.queue.huey_queue import EmbeddedConsumer
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.deliver_email import keep_alive
from autorelay_core.usecases.import_contacts import BackgroundImports
from autorelay_core.usecases.notify import BackgroundPosts
from composition.background import SILENT_BEATS, beat_forever, reconcile_forever
from composition.settings import Settings

log = logging.getLogger("autorelay")
READINESS_WAIT = 2.0


class LoopRunner:
    """Runs coroutines on the process's event loop from queue worker threads."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        if self.loop is None:
            coro.close()
            raise RuntimeError("the services have not been started on an event loop")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


class Services:
    """Everything a process needs: the core's ports (`deps`) and the background machinery."""

    def __init__(
        self,
        settings: Settings,
        deps: Deps,
        consumer: EmbeddedConsumer | None,
        runner: LoopRunner,
        stopping: threading.Event,
        posts: BackgroundPosts,
        imports: BackgroundImports,
    ) -> None:
        self.settings = settings
        self.stopping = stopping
        self.deps = deps
        self.consumer = consumer
        self.runner = runner
        self.posts = posts
        self.imports = imports
        self._reconciler: asyncio.Task | None = None
        self._heart: asyncio.Task | None = None
        self.kept: KeptMessages | None = None  # copies of the messages that left (set by build)
        self.metrics: Any = None  # the Prometheus adapter (set by build)

    async def migrate(self) -> int:
        """Bring the database's schema up to date; its version."""
        return await self.deps.storage.migrate()

    async def close_database(self) -> None:
        """For a command that only used the database (no background work was started)."""
        await self.deps.storage.close()

    async def start(self, *, consume: bool = True) -> None:
        """Bind to the running loop, bring the schema up to date, start the in-process consumer (if
        any) and the reconciler."""
        self.runner.loop = asyncio.get_running_loop()
        await self.migrate()
        if consume:
            # The first beat before the first claim: every lease this process takes names a live holder.
            interval = self.settings.heartbeat_seconds
            await keep_alive(self.deps, timedelta(seconds=interval * SILENT_BEATS))
            self._heart = asyncio.create_task(beat_forever(self.deps, interval), name="heartbeat")
        if consume and self.consumer is not None:
            self.consumer.start()
        if consume:
            # A pass at once: what was due when the last process stopped (or was killed before its
            # wake reached the queue) goes now, not when the reconciler's grace has passed.
            self.deps.queue.wake()
            self._reconciler = asyncio.create_task(
                reconcile_forever(self.deps, self.settings.reconcile_interval_seconds, self.imports, self.kept),
                name="outbox-reconciler",
            )

    def raw_message(self, email_id: str) -> bytes | None:
        """The exact message that left, for the dashboard's download: the log mailer's file (test
        mode always goes there), else the kept copy of what SMTP or SES took."""
        path = self.settings.mail_dir / f"{email_id}.eml"
        if email_id.isidentifier() and path.is_file():
            return path.read_bytes()
        return self.kept.get(email_id) if self.kept is not None else None

    async def readiness(self) -> dict[str, str]:
        """ "ok", or why not, for the database and the queue: each touched with one cheap call
        that may take at most READINESS_WAIT seconds (a hung backend is a down one)."""
        huey = getattr(self.deps.queue, "huey", None)
        checks = {
            "database": self.deps.storage.ping(),
            "queue": asyncio.to_thread(huey.pending_count) if huey is not None else asyncio.sleep(0),
        }
        report = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check, READINESS_WAIT)
                report[name] = "ok"
            except TimeoutError:
                report[name] = f"down: no answer within {READINESS_WAIT:g} s"
            except Exception as error:  # whatever the driver raises: report it, never fail the probe
                report[name] = f"down: {type(error).__name__}"
        return report

    async def stop(self) -> None:
        self.stopping.set()  # running passes finish the email in hand and return
        for task in (self._reconciler, self._heart):
            if task is not None:
                task.cancel()
        self._reconciler = self._heart = None
        if self.consumer is not None:
            await asyncio.to_thread(self.consumer.stop)
        await self.posts.stop(grace=5)
        await self.imports.stop()
        await self.deps.mailer.close()  # SMTP: QUIT the kept connections
        if self.kept is not None:  # the copies still queued (they gather for a moment) go to disk
            await asyncio.to_thread(self.kept.flush)
        await self.deps.webhook_poster.close()
        await self.deps.rate_limits.close()
        await self.deps.storage.close()

"""The background work of a process: delivery passes (run by queue jobs) and the reconciler."""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from datetime import timedelta

from adapters.mailers.kept import KeptMessages
from autorelay_core.errors import Unavailable
from autorelay_core.usecases.ab_winner import decide_tests
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.deliver_email import deliver_due, keep_alive, next_pass, reconcile_outbox
from autorelay_core.usecases.import_contacts import BackgroundImports
from autorelay_core.usecases.journey_entry import scan_triggers
from autorelay_core.usecases.journey_steps import advance_due, reconcile_journeys
from autorelay_core.usecases.manage_campaigns import finish_campaigns
from autorelay_core.usecases.manage_reputation import evaluate_all
from autorelay_core.usecases.notify import BackgroundPosts, reconcile_webhooks
from autorelay_core.usecases.receive_mail import prune_received

log = logging.getLogger("autorelay")


FULL_PASS, SHARED_PASS = 32, 2
# A pass moves this many times more journey runs than it delivers emails: a run's step is a few
# reads and a share of one write, an email a message handed over.
JOURNEY_RUNS = 8

# One journey step pass at a time per process. The consumer threads' passes all run on one loop:
# eight stepping together queued the database pool behind a thousand runs while claimed emails
# waited past their leases. One large pass at a time also moved more runs a second (bench/journeys.py,
# 20,000 timers: PostgreSQL 499/s before, 562/s after; SQLite 1,056/s, 1,123/s).
_JOURNEY_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _journey_gate() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    if loop not in _JOURNEY_GATES:
        _JOURNEY_GATES[loop] = asyncio.Lock()
    return _JOURNEY_GATES[loop]


async def _one_pass(deps: Deps, posts: BackgroundPosts, batch: int) -> int:
    # Emails first: a pass holds their leases only while it delivers them, never while it waits
    # its turn at the journey gate.
    count = await deliver_due(deps, batch=batch) + await posts.start_due(deps, batch=batch)
    async with _journey_gate():
        return count + await advance_due(deps, batch=batch * JOURNEY_RUNS)


async def run_passes(
    deps: Deps,
    stopping: threading.Event,
    posts: BackgroundPosts,
    share: float = 1.0,
    imports: BackgroundImports | None = None,
    budget: float | None = None,
) -> int:
    """Delivery passes until nothing is due, the process is stopping, or `budget` seconds (a
    lease) have gone by with work left, when the next pass is asked of the queue.

    With `share` < 1 (the embedded profile, where HTTP requests share this event loop), passes
    yield while the loop is busy so that deliveries take about `share` of its time: a burst of sends
    is answered quickly and delivered just behind it. On an idle loop passes run back to back.
    Webhook deliveries are claimed here and posted beside the passes (`posts`), and a queued
    contact import is started beside them (`imports`).
    """
    if imports is not None:
        await imports.start_due(deps)
    loop = asyncio.get_running_loop()
    # A queue thread waits for its passes for a bounded time; one that gave up would leave them
    # running and take the next job, so passes would pile up on the loop. They end in time instead
    # and, with work left, ask for the next.
    ends = loop.time() + (deps.config.lease.total_seconds() if budget is None else budget)
    total = 0
    recruited = False
    # Small passes on a busy shared loop: each keeps requests waiting for less time. On a loop with
    # nothing else to do they grow back to full size: two emails a pass drained a backlog at a
    # few hundred a second, each pass paying its claim and its commit for two.
    batch = FULL_PASS if share >= 1 else SHARED_PASS
    while not stopping.is_set():
        started = loop.time()
        try:
            count = await _one_pass(deps, posts, batch)
        except Unavailable as error:  # the reconciler wakes a pass again once the backend is back
            log.warning("delivery pass stopped: %s", error)
            break
        total += count
        if count and loop.time() >= ends:
            deps.queue.wake()
            break
        if count == 0:
            try:
                wait = await next_pass(deps)
            except Unavailable as error:
                log.warning("delivery pass could not look ahead: %s", error)
                break
            if wait is None:
                break
            # The next row is due within a second: wait for it here (a row another worker is
            # claiming right now reads as due: a short pause, not a busy loop).
            await asyncio.sleep(max(wait, 0.005))
            continue
        if count >= batch and share >= 1 and not recruited:
            # More is due than one pass takes: ask for one more pass, which another consumer thread
            # or worker process picks up (and which may recruit another in turn), so a backlog is
            # spread over every worker instead of drained by whichever got the first wake.
            deps.queue.wake()
            recruited = True
        if share < 1:
            spent = loop.time() - started
            probe = loop.time()
            await asyncio.sleep(0)  # how long one turn of the loop takes tells how busy it is
            if loop.time() - probe > 0.001:
                batch = SHARED_PASS
                await asyncio.sleep(min(1.0, spent * (1 - share) / share))
            else:
                batch = min(FULL_PASS, batch * 2)
    return total


async def reconcile_forever(deps: Deps, interval: float, imports: BackgroundImports, kept: KeptMessages | None) -> None:
    """The reconciler: every `interval` seconds, take back lost outbox rows and webhook deliveries,
    restart stopped imports, finish campaigns, and (once a minute) re-evaluate reputations and
    look for people that segment and date triggers take into journeys."""
    loop = asyncio.get_running_loop()
    next_reputation_check = loop.time()
    while True:
        try:
            found = await reconcile_outbox(deps)
            if found:
                log.info("reconciler re-enqueued %d email(s) whose job was lost", found)
            await reconcile_webhooks(deps)
            await reconcile_journeys(deps)
            await imports.start_due(deps)  # an import whose process stopped or died
            for campaign in await decide_tests(deps):  # an A/B test's winner, and its rest queued
                log.info("campaign %s: A/B test decided", campaign.id)
            for campaign in await finish_campaigns(deps):
                if campaign.status.value != "sending":
                    log.info("campaign %s %s", campaign.id, campaign.status.value)
            if loop.time() >= next_reputation_check:
                # Rates also change as sends age out of the 24 h window, not only on feedback.
                next_reputation_check = loop.time() + 60
                # Segment and date triggers: nothing announces them, so they are looked for.
                if entered := await scan_triggers(deps):
                    log.info("%d contact(s) entered journeys from segment or date triggers", entered)
                if kept is not None:
                    await asyncio.to_thread(kept.prune)
                if pruned := await prune_received(deps):
                    log.info("%d received email(s) older than AUTORELAY_KEEP_RECEIVED_DAYS deleted", pruned)
                for project in await evaluate_all(deps):
                    log.warning("project %s flagged: %s", project.name, project.status_reason)
        except Unavailable as error:  # a backend down or locked: one line a round, not a traceback
            log.warning("background checks skipped: %s", error)
        except Exception:  # keep going; the next round retries
            log.exception("background checks failed")
        await asyncio.sleep(interval)


SILENT_BEATS = 2.5  # a holder this many beats late is taken for gone


async def beat_forever(deps: Deps, interval: float) -> None:
    """The heartbeat: every `interval` seconds this process says it is alive, and the emails of any
    process silent for SILENT_BEATS beats are taken back (keep_alive)."""
    silence = timedelta(seconds=interval * SILENT_BEATS)
    while True:
        await asyncio.sleep(interval)
        try:
            await keep_alive(deps, silence)
        except Unavailable as error:
            log.warning("heartbeat skipped: %s", error)
        except Exception:  # keep beating; the next one retries
            log.exception("heartbeat failed")

"""Delivery passes as the composition root runs them: to the end, or until the process stops."""

from __future__ import annotations

import asyncio
import threading

from autorelay_core.domain.webhooks import PostOutcome
from autorelay_core.usecases.notify import BackgroundPosts
from composition.background import run_passes
from tests.support import eventually, make_deps
from tests.unit.test_send_email import command, live_key


async def test_passes_deliver_everything_due_and_stop_when_asked(clock, mailer, manual_queue):
    deps = make_deps(clock=clock, mailer=mailer, queue=manual_queue)
    key = await live_key(deps)
    from autorelay_core.usecases.send_email import send_email

    for _ in range(5):
        await send_email(deps, key, command())
    stopping = threading.Event()
    stopping.set()
    assert await run_passes(deps, stopping, BackgroundPosts()) == 0 and mailer.sent == []
    stopping.clear()
    assert await run_passes(deps, stopping, BackgroundPosts(), share=0.25) == 5  # an idle loop: no yielding needed
    assert len(mailer.sent) == 5


async def test_a_backlog_recruits_one_more_pass_and_a_small_one_does_not(clock, mailer, manual_queue):
    """A dedicated worker that finds more than one batch due asks (once) for a helper pass, so other
    consumers share the backlog; the embedded profile never does (its passes share the API's loop)."""
    from autorelay_core.usecases.send_email import send_email

    deps = make_deps(clock=clock, mailer=mailer, queue=manual_queue)
    key = await live_key(deps)
    for _ in range(40):  # more than one pass's batch (32)
        await send_email(deps, key, command())
    manual_queue.wakes.clear()
    assert await run_passes(deps, threading.Event(), BackgroundPosts()) == 40
    assert manual_queue.wakes == [None]

    for _ in range(20):
        await send_email(deps, key, command())
    manual_queue.wakes.clear()
    assert await run_passes(deps, threading.Event(), BackgroundPosts(), share=0.25) == 20
    assert manual_queue.wakes == []

    for _ in range(3):
        await send_email(deps, key, command())
    manual_queue.wakes.clear()
    assert await run_passes(deps, threading.Event(), BackgroundPosts()) == 3
    assert manual_queue.wakes == []


async def test_passes_end_within_their_budget_and_ask_the_queue_for_the_rest(clock, mailer, manual_queue):
    """A queue thread waits for its passes a bounded time; passes that outlived it kept running
    while the thread took the next job, and stacked up on the loop. They end in time instead."""
    from autorelay_core.usecases.send_email import send_email

    deps = make_deps(clock=clock, mailer=mailer, queue=manual_queue)
    key = await live_key(deps)
    for _ in range(40):
        await send_email(deps, key, command())
    manual_queue.wakes.clear()
    assert await run_passes(deps, threading.Event(), BackgroundPosts(), budget=0) == 32  # one pass
    assert manual_queue.wakes == [None] and len(mailer.sent) == 32
    assert await run_passes(deps, threading.Event(), BackgroundPosts(), budget=0) == 8
    assert len(mailer.sent) == 40


class SlowPoster:
    """An endpoint that answers only when the test says so."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.posted = 0

    async def post(self, target, address, secret, delivery, sent_at, shape="autorelay") -> PostOutcome:
        self.posted += 1
        await self.release.wait()
        return PostOutcome(delivered=True)

    async def close(self) -> None:
        return None


async def test_a_slow_webhook_endpoint_does_not_hold_email_delivery(clock, mailer, manual_queue):
    from attrs import evolve

    from autorelay_core.usecases.manage_webhooks import WebhookInput, create_webhook
    from autorelay_core.usecases.notify import BackgroundPosts
    from autorelay_core.usecases.send_email import send_email
    from tests.unit.test_webhooks import PublicDns

    poster = SlowPoster()
    deps = evolve(make_deps(clock=clock, mailer=mailer, queue=manual_queue), dns=PublicDns(), webhook_poster=poster)
    key = await live_key(deps)
    await create_webhook(deps, key, WebhookInput("https://hooks.example.com/", ["email.sent"]))
    posts = BackgroundPosts(limit=2)
    for _ in range(3):
        await send_email(deps, key, command())
    await run_passes(deps, threading.Event(), posts)  # returns while the posts hang
    assert await eventually(lambda: poster.posted == 2)  # the posts get going
    assert len(mailer.sent) == 3 and poster.posted == 2  # at most `limit` in flight
    for _ in range(2):
        await send_email(deps, key, command())
    await asyncio.wait_for(run_passes(deps, threading.Event(), posts), timeout=1)
    assert len(mailer.sent) == 5 and poster.posted == 2
    manual_queue.wakes.clear()
    poster.release.set()
    assert await eventually(lambda: bool(manual_queue.wakes))  # each finished post wakes a pass for the rest
    for _ in range(3):  # the passes those wakes start (the manual queue leaves running them to us)
        await run_passes(deps, threading.Event(), posts)
        await eventually(lambda: poster.posted == 5, within=0.2)
    assert poster.posted == 5
    await posts.stop(grace=1)

"""Delivery passes as the composition root runs them: to the end, or until the process stops."""

from __future__ import annotations

import threading

from composition.build import run_passes
from tests.support import make_deps
from tests.unit.test_send_email import command, live_key


async def test_passes_deliver_everything_due_and_stop_when_asked(clock, mailer, manual_queue):
    deps = make_deps(clock=clock, mailer=mailer, queue=manual_queue)
    key = await live_key(deps)
    from autorelay_core.usecases.send_email import send_email

    for _ in range(5):
        await send_email(deps, key, command())
    stopping = threading.Event()
    stopping.set()
    assert await run_passes(deps, stopping) == 0 and mailer.sent == []
    stopping.clear()
    assert await run_passes(deps, stopping, share=0.25) == 5  # an idle loop: no yielding needed
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
    assert await run_passes(deps, threading.Event()) == 40
    assert manual_queue.wakes == [None]

    for _ in range(20):
        await send_email(deps, key, command())
    manual_queue.wakes.clear()
    assert await run_passes(deps, threading.Event(), share=0.25) == 20
    assert manual_queue.wakes == []

    for _ in range(3):
        await send_email(deps, key, command())
    manual_queue.wakes.clear()
    assert await run_passes(deps, threading.Event()) == 3
    assert manual_queue.wakes == []

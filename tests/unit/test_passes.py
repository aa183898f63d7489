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

"""The hand-over point every mailer calls before the point of no return (see ports.Handover)."""

from __future__ import annotations

from collections.abc import Callable

from autorelay_core.errors import LeaseLost
from autorelay_core.ports import Handover


async def handed_over(handover: Handover | None, then: Callable[[], None] = lambda: None) -> None:
    """Record the hand-over, and run `then` (the step that hands the message over) right after the
    record is durable; exactly once either way. A lost lease stops the message before it leaves."""
    done = False

    def once() -> None:
        nonlocal done
        if not done:
            done = True
            then()

    if handover is not None and not await handover(once):
        raise LeaseLost()
    once()  # no outbox (an embedder's direct call), or a store that did not run it

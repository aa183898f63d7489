"""Recording what happens to a sent email (opens, clicks, provider feedback) when several writers
may race: a link scanner fetching every link and the pixel at once, a complaint arriving during a
click. Each write is a compare-and-set on the email's status and counters, retried from a fresh
read, so no count is lost and the status never moves backwards."""

from __future__ import annotations

from typing import Any

from attrs import evolve

from autorelay_core.domain.emails import Email, Event, EventType
from autorelay_core.errors import Conflict
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.notify import notices_for

_ATTEMPTS = 20


async def record_event(deps: Deps, email: Email, kind: EventType, **data: Any) -> tuple[Email, Event] | None:
    """The email after `kind` and the stored event; None when the email is gone. Conflict when the
    event makes no sense for the email's status (e.g. a click on a bounced email)."""
    current: Email | None = email
    for _ in range(_ATTEMPTS):
        if current is None:
            return None
        changed = evolve(current)
        event = changed.record(kind, deps.clock.now(), **data)
        if await deps.storage.emails.record(changed, [event], notices_for(deps, changed, [event]), since=current):
            deps.queue.wake()  # the webhook deliveries
            return changed, event
        current = await deps.storage.emails.get(email.project_id, email.id)
    raise Conflict(f"email {email.id} is changing too fast to record a {kind.value} event; try again")

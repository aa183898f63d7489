"""Deliver one email from the outbox, and the reconciler that finds emails whose job was lost."""

from __future__ import annotations

import logging
from datetime import datetime

from attrs import evolve

from autorelay_core.domain.emails import Email, EventType
from autorelay_core.errors import MailerError
from autorelay_core.ports import Mailer
from autorelay_core.usecases.context import Deps

log = logging.getLogger("autorelay.outbox")


async def deliver_email(deps: Deps, email_id: str) -> str:
    """Lease the email, hand it to the mailer, store the outcome. Returns what happened:
    'sent', 'failed', 'retry', 'skipped' (another worker has it, or it is done or not yet due),
    or 'lost' (our lease ran out before we could store the result)."""
    now = deps.clock.now()
    claim = await deps.storage.emails.claim(email_id, now, now + deps.config.lease)
    if claim is None:
        return "skipped"
    email = evolve(claim.email)
    mailer = deps.test_mailer if email.test else deps.mailer
    try:
        provider_id = await _send(mailer, email, now)
    except MailerError as error:
        backoff = deps.config.retry_backoff
        if not error.permanent and claim.attempt <= len(backoff):
            at = deps.clock.now() + backoff[claim.attempt - 1]
            if await deps.storage.emails.retry_later(claim, at, error.message):
                deps.queue.enqueue_delivery(email_id, at)
                return "retry"
            return "lost"
        email.last_error = error.message
        event = email.record(EventType.FAILED, deps.clock.now(), error=error.message)
        return "failed" if await deps.storage.emails.finish(claim, email, [event]) else "lost"
    email.provider_message_id = provider_id
    email.last_error = None
    event = email.record(EventType.SENT, deps.clock.now())
    if not await deps.storage.emails.finish(claim, email, [event]):
        log.warning("lease on %s expired during delivery; another worker may resend it", email_id)
        return "lost"
    return "sent"


async def _send(mailer: Mailer, email: Email, now: datetime) -> str:
    try:
        return await mailer.send(email, now)
    except MailerError:
        raise
    except Exception as error:
        # A mailer bug or an unwrapped library error: retry like a transient failure, so the email
        # ends as failed after the backoff instead of being leased again forever.
        log.exception("mailer raised an unexpected error for %s", email.id)
        raise MailerError(f"unexpected mailer error: {type(error).__name__}", permanent=False) from error


async def reconcile_outbox(deps: Deps, limit: int = 1000) -> int:
    """Enqueue again every email whose queue job was lost (killed worker, crash between commit
    and enqueue). Safe to run anywhere, any number of times: claims are atomic."""
    now = deps.clock.now()
    ids = await deps.storage.emails.stale(now, now - deps.config.reconcile_grace, limit)
    for email_id in ids:
        deps.queue.enqueue_delivery(email_id)
    return len(ids)

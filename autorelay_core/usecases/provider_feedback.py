"""Bounces and complaints from every source, under one rule: the SMTP server's reply at delivery
(deliver_email), what a provider reports later (SES through SNS), and mail returned to the VERP
return path (a DSN or an ARF report, through the inbound listener or the bounce mailbox).

A permanent bounce or a complaint marks the email, suppresses the addresses, marks their contacts
and re-checks the account's rates (`suppress_and_recheck`); a transient bounce suppresses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from enum import StrEnum

from autorelay_core.domain.contacts import ContactStatus
from autorelay_core.domain.emails import Email, EventType
from autorelay_core.domain.suppressions import Suppression, SuppressionReason
from autorelay_core.errors import Conflict
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.manage_reputation import evaluate
from autorelay_core.usecases.record_events import record_event

log = logging.getLogger("autorelay.feedback")
_MAX_NAMED = 1000  # a report naming more than this is read no further (each name costs a lookup)


class Feedback(StrEnum):
    DELIVERED = "delivered"
    PERMANENT_BOUNCE = "permanent_bounce"
    TRANSIENT_BOUNCE = "transient_bounce"
    COMPLAINT = "complaint"


async def record_provider_feedback(
    deps: Deps, provider_message_id: str, kind: Feedback, recipients: list[str], detail: str = ""
) -> bool:
    """False when no email carries that provider id (feedback for mail sent elsewhere)."""
    email = await deps.storage.emails.by_provider_id(provider_message_id)
    if email is None:
        log.info("feedback for unknown provider message %s ignored", provider_message_id)
        return False
    if kind is Feedback.TRANSIENT_BOUNCE:
        return True
    return await apply_feedback(deps, email, kind, recipients, detail)


async def record_returned(
    deps: Deps, email_id: str, kind: Feedback, recipients: Sequence[str | tuple[str, ...]], detail: str = ""
) -> bool:
    """Feedback that came back as mail to the email's return path (a DSN, an ARF report). A soft
    bounce is kept as a `deferred` event (the next hop keeps trying); the rest as from SNS. The
    same report twice records it once."""
    email = await deps.storage.emails.locate(email_id)
    if email is None:
        return False
    if kind is Feedback.TRANSIENT_BOUNCE:
        own = _own_recipients(deps, email, recipients)
        if not own:
            return False
        error = detail[:500]
        for event in await deps.storage.emails.events(email.id):
            if event.type is EventType.DEFERRED and event.data.get("error") == error:
                return True  # the same report again (a mailbox read twice after a restart): nothing new
        try:
            await record_event(deps, email, EventType.DEFERRED, recipients=own, error=error)
        except Conflict:
            pass
        return True
    return await apply_feedback(deps, email, kind, recipients, detail)


async def apply_feedback(
    deps: Deps, email: Email, kind: Feedback, named: Sequence[str | tuple[str, ...]], detail: str = ""
) -> bool:
    """One rule for every source: the event (its webhook fires once: a second report of the same
    kind is a conflict and changes nothing), the suppressions, the contacts, the account's rates.
    A report affects only recipients of its own email (`Email.reported`): any other address it
    names is counted and ignored, so a recipient who writes a report to the return path they were
    given can affect no one else. False when it names none of the email's recipients."""
    recipients = _own_recipients(deps, email, named)
    if not recipients:
        return False
    event_type = {
        Feedback.DELIVERED: EventType.DELIVERED,
        Feedback.PERMANENT_BOUNCE: EventType.BOUNCED,
        Feedback.COMPLAINT: EventType.COMPLAINED,
    }[kind]
    details = {"error": detail[:500]} if detail else {}  # shown as the event's reason
    try:
        await record_event(deps, email, event_type, recipients=recipients, **details)
    except Conflict:  # e.g. a delivery notice after a complaint: the status already says more
        if kind is Feedback.DELIVERED or email.status.value != event_type.value:
            return True
        # The same report again (a mailbox read after a restart, SNS redelivering): its event was
        # recorded, but the attempt that did so may have been stopped before the suppressions. They
        # are idempotent, so they are made again; the event and its webhook are not.
    if kind is not Feedback.DELIVERED:
        await suppress_and_recheck(deps, email, kind, recipients, detail)
    return True


def _own_recipients(deps: Deps, email: Email, named: Sequence[str | tuple[str, ...]]) -> list[str]:
    own, ignored = email.reported(named[:_MAX_NAMED])
    ignored += max(0, len(named) - _MAX_NAMED)
    if ignored:
        deps.metrics.report_ignored(ignored)
        log.warning("a report about %s named %d address(es) it was not sent to: ignored", email.id, ignored)
    return list(own)


async def suppress_and_recheck(deps: Deps, email: Email, kind: Feedback, recipients: list[str], detail: str) -> None:
    """What follows a recorded hard bounce or complaint, whatever its source: the addresses are
    suppressed, their contacts marked, and (for live mail) the account's rates checked again."""
    now = deps.clock.now()
    reason = SuppressionReason.BOUNCE if kind is Feedback.PERMANENT_BOUNCE else SuppressionReason.COMPLAINT
    status = ContactStatus.BOUNCED if kind is Feedback.PERMANENT_BOUNCE else ContactStatus.COMPLAINED
    for address in recipients:
        await deps.storage.suppressions.add(Suppression(email.project_id, address, reason, now, detail[:500]))
        await deps.storage.contacts.mark_undeliverable(email.project_id, address.lower(), status)
    if not email.test:
        await evaluate(deps, email.project_id)

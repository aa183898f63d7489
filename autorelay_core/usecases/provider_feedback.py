"""What a mailer reports after the hand-off (SES through SNS): deliveries, bounces, complaints.

A permanent bounce or a complaint marks the email, suppresses the addresses, marks their contacts
and re-checks the account's rates; a transient bounce changes nothing (the mailer keeps trying).
"""

from __future__ import annotations

import logging
from enum import StrEnum

from autorelay_core.domain.contacts import ContactStatus
from autorelay_core.domain.emails import EventType
from autorelay_core.domain.suppressions import Suppression, SuppressionReason
from autorelay_core.errors import Conflict
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.manage_reputation import evaluate
from autorelay_core.usecases.record_events import record_event

log = logging.getLogger("autorelay.feedback")


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
    event_type = {
        Feedback.DELIVERED: EventType.DELIVERED,
        Feedback.PERMANENT_BOUNCE: EventType.BOUNCED,
        Feedback.COMPLAINT: EventType.COMPLAINED,
    }[kind]
    now = deps.clock.now()
    details = {"detail": detail} if detail else {}
    try:
        await record_event(deps, email, event_type, recipients=recipients, **details)
    except Conflict:  # e.g. a delivery notice after a complaint: the status already says more
        return True
    if kind is Feedback.DELIVERED:
        return True
    reason = SuppressionReason.BOUNCE if kind is Feedback.PERMANENT_BOUNCE else SuppressionReason.COMPLAINT
    status = ContactStatus.BOUNCED if kind is Feedback.PERMANENT_BOUNCE else ContactStatus.COMPLAINED
    for address in recipients:
        await deps.storage.suppressions.add(Suppression(email.project_id, address, reason, now, detail[:500]))
        await deps.storage.contacts.mark_undeliverable(email.project_id, address.lower(), status)
    if not email.test:
        await evaluate(deps, email.project_id)
    return True

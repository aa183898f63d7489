"""Returned mail, however it arrived (the inbound listener, a polled mailbox): the reports in it,
each handed to the core's feedback rule for the email its VERP address names. An address whose
signature does not check out names nothing, so a forged report changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from adapters.smtp_relay.reports import COMPLAINT, HARD, read_reports
from autorelay_core.domain.verp import read_verp
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.provider_feedback import Feedback, record_returned

log = logging.getLogger("autorelay.inbound")

KINDS = {HARD: Feedback.PERMANENT_BOUNCE, COMPLAINT: Feedback.COMPLAINT}


async def take_returned_mail(deps: Deps, content: bytes, addressed_to: Iterable[str]) -> int:
    """Record what the message reports; `addressed_to`: where it was delivered (the envelope's
    recipients, or a mailbox's Delivered-To and To headers). Returns how many emails it changed or
    confirmed; 0 for auto-replies, unrelated mail and forgeries. Safe to repeat: a report recorded
    once is not recorded again."""
    config = deps.config
    try:
        reports = await deps.offload.run(read_reports, content)
    except Exception:  # a message no parser makes sense of is not a report
        log.info("inbound: a message that is not a report was ignored")
        return 0
    addresses = list(addressed_to)
    taken = 0
    for report in reports:
        named = {read_verp(a, config.verp_key, config.bounce_domain) for a in addresses}
        if report.return_path:
            named.add(read_verp(report.return_path, config.verp_key, config.bounce_domain))
        for email_id in filter(None, named):
            kind = KINDS.get(report.kind, Feedback.TRANSIENT_BOUNCE)
            if await record_returned(deps, email_id, kind, list(report.recipients), report.detail):
                log.info("inbound: %s for %s (%s)", report.kind, email_id, report.detail)
                taken += 1
        if not any(named):
            log.info("inbound: a %s report named no email of ours (forged or foreign); ignored", report.kind)
    return taken

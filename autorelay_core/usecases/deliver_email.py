"""Deliver emails from the outbox, and the reconciler that finds emails whose pass was lost."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from attrs import evolve

from autorelay_core.domain.addresses import split_mailbox
from autorelay_core.domain.emails import Email, EmailStatus, Event, EventType
from autorelay_core.domain.projects import Project
from autorelay_core.domain.suppressions import Suppression
from autorelay_core.domain.topics import subscribed
from autorelay_core.domain.verp import verp_address
from autorelay_core.errors import LeaseLost, MailerError
from autorelay_core.ports import Claim, Handover, Mailer
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.journey_steps import advance_due
from autorelay_core.usecases.notify import deliver_webhooks_due, notices_for
from autorelay_core.usecases.provider_feedback import Feedback, suppress_and_recheck
from autorelay_core.usecases.tracking import tracked_html

log = logging.getLogger("autorelay.outbox")
# Bodies past this are tracked (links rewritten) on the Offload threads; smaller ones inline, where
# the hop would cost more than the work.
LARGE_HTML = 64 * 1024
# A mailer that is over its provider's sending rate gives the email back for this long.
THROTTLED_PAUSE = timedelta(seconds=1)


async def deliver_email(deps: Deps, email_id: str) -> str:
    """Lease one email and deliver it. Returns 'sent', 'failed', 'bounced', 'retry', 'held' (pacing
    gave it back for later), 'lost' (our lease ran out before we could store the result) or
    'skipped' (held elsewhere, done or not yet due)."""
    now = deps.clock.now()
    claim = await deps.storage.outbox.claim(email_id, now, now + deps.config.lease, deps.config.holder)
    return "skipped" if claim is None else await deliver_claim(deps, claim)


async def deliver_due(deps: Deps, batch: int = 8) -> int:
    """One delivery pass: lease up to `batch` due emails and deliver them concurrently.
    Returns how many were leased; a full batch means more may be waiting."""
    now = deps.clock.now()
    claims = await deps.storage.outbox.claim_due(now, now + deps.config.lease, batch, deps.config.holder)
    known = await _suppressions(deps, claims)
    left = await left_topic(deps, claims)
    await asyncio.gather(*(deliver_claim(deps, claim, known, left) for claim in claims))
    return len(claims)


async def _suppressions(deps: Deps, claims: list[Claim]) -> dict[tuple[str, str], Suppression]:
    """The suppressed addresses among a whole pass's recipients: one lookup per project, not one
    per email (a campaign pass is many emails of one project)."""
    wanted: dict[str, set[str]] = {}
    for claim in claims:
        wanted.setdefault(claim.email.project_id, set()).update(a.lower() for a in envelope_addresses(claim.email))
    found = {}
    for project_id, addresses in wanted.items():
        for entry in await deps.storage.suppressions.matching(project_id, sorted(addresses)):
            found[(project_id, entry.email.lower())] = entry
    return found


async def left_topic(deps: Deps, claims: list[Claim]) -> dict[str, str]:
    """The campaign emails whose recipient left the campaign's topic since its launch (the launch
    kept only those in it), by email id, with the topic's name: a paced campaign runs for hours,
    and leaving must hold for the rest of it. One lookup per campaign in the pass."""
    wanted: dict[tuple[str, str], list[Email]] = {}
    for claim in claims:
        if claim.email.campaign_id:
            wanted.setdefault((claim.email.project_id, claim.email.campaign_id), []).append(claim.email)
    found: dict[str, str] = {}
    for (project_id, campaign_id), emails in wanted.items():
        campaign = await deps.storage.campaigns.get(project_id, campaign_id)
        topic_id = campaign.topic_id if campaign else None
        topic = await deps.storage.topics.get(project_id, topic_id) if topic_id else None
        if topic is None:
            continue
        people = {e.id: e.to[0].lower() for e in emails if e.to}
        choices = await deps.storage.topics.choices_for(project_id, topic.id, sorted(set(people.values())))
        found |= {i: topic.name for i, person in people.items() if not subscribed(topic, choices.get(person))}
    return found


async def drain(deps: Deps, batch: int = 8) -> int:
    """Passes (journey steps, the emails, then the webhook deliveries they made) until nothing is
    due; returns how many runs, emails and webhook deliveries were leased in all."""
    total = 0
    while (
        count := await advance_due(deps, batch)
        + await deliver_due(deps, batch)
        + await deliver_webhooks_due(deps, batch)
    ) > 0:
        total += count
    if await next_pass(deps, timedelta(0)) is not None:  # came due as the passes ended
        deps.queue.wake()
    return total


# A pass that finds the next row due this soon waits for it rather than ending: a paced campaign
# streams out at its pace instead of in bursts a queue wake apart.
LOOKAHEAD = timedelta(seconds=1)


async def next_pass(deps: Deps, lookahead: timedelta = LOOKAHEAD) -> float | None:
    """After a pass found nothing due: the seconds until the next pending row comes due when that
    is within `lookahead` (the caller waits and passes again), else None, with a pass asked of the
    queue for the second it comes due. Rows come due later than they were stored (a launched
    campaign's are spread at its pace, a scheduled email waits for its time) and nothing else
    starts a pass then: without this they waited for the reconciler. One wake a second at most."""
    due = min(
        (d for d in (await deps.storage.outbox.next_due(), await deps.storage.journeys.next_due()) if d is not None),
        default=None,
    )
    if due is None:
        return None
    wait = due - deps.clock.now()
    if wait <= lookahead:
        return max(0.0, wait.total_seconds())
    if deps.pacer.wake_second(due):
        deps.queue.wake(datetime.fromtimestamp(math.ceil(due.timestamp()), tz=UTC))
    return None


async def deliver_claim(
    deps: Deps,
    claim: Claim,
    known: dict[tuple[str, str], Suppression] | None = None,
    left: dict[str, str] | None = None,
) -> str:
    """Deliver one leased email; `known` and `left`: the pass's suppressed addresses and the emails
    whose recipient left the campaign's topic, looked up beforehand."""
    email = evolve(claim.email)
    addresses = list(dict.fromkeys(address.lower() for address in envelope_addresses(email)))
    if known is None:
        suppressed = await deps.storage.suppressions.matching(email.project_id, addresses)
        left = await left_topic(deps, [claim])
    else:
        suppressed = [known[(email.project_id, a)] for a in addresses if (email.project_id, a) in known]
    if suppressed:  # never reaches the mailer, whatever the person chose: the suppression list wins
        listed = ", ".join(f"{s.email} ({s.reason.value})" for s in suppressed)
        return await _fail(deps, claim, email, f"suppressed: {listed}")
    if left and email.id in left:
        return await _fail(deps, claim, email, f"not sent: the recipient left the topic {left[email.id]!r}")
    if not email.test:  # test mail never leaves the machine: nobody's pace to keep
        hold = await deps.pacer.hold_until(email, deps.clock.now())
        if hold is not None:
            return await _hold(deps, claim, hold)
    mailer = deps.test_mailer if email.test else deps.mailer
    if email.text is None and not email.sealed:
        # Generated here rather than at accept time: it keeps the send request fast.
        email.text = await deps.offload.run(deps.html_to_text.convert, email.html)
    changes: dict[str, Any] = {}  # the outgoing copy's differences, made in one copy
    if email.sealed:  # opened for the mailer only; the stored row stays sealed
        changes |= {"html": deps.sealer.open(email.html), "text": deps.sealer.open(email.text or "")}
    else:  # the stored HTML stays as the customer wrote it
        project = await deps.storage.projects.get(email.project_id)
        if len(email.html) > LARGE_HTML:  # rewriting links in a large body is CPU work: off the loop
            changes["html"] = await deps.offload.run(tracked_html, deps, email, project)
        else:
            changes["html"] = tracked_html(deps, email, project)
    if deps.config.bounce_domain:
        changes["return_path"] = verp_address(email.id, deps.config.verp_key, deps.config.bounce_domain)
    outgoing = evolve(email, **changes)
    problem = outgoing.header_problem()
    if problem is not None:  # never written: a line break here would forge headers or recipients
        return await _fail(deps, claim, email, f"not sent: {problem}")

    async def handover(then: Callable[[], None]) -> bool:
        return await deps.storage.outbox.handover(claim, then)

    try:
        provider_id = await _send(mailer, outgoing, deps.clock.now(), handover)
    except LeaseLost:  # a slow pass: the row is someone else's (or pending again), untouched by us
        log.info("email %s: its lease ran out before the hand-over; left to its next claim", email.id)
        return "lost"
    except MailerError as error:
        if error.throttled:  # the mailer's own rate, not a failure of this email
            return await _hold(deps, claim, deps.clock.now() + THROTTLED_PAUSE)
        if not error.permanent and not email.test:
            await deps.pacer.deferred(email, deps.clock.now())
        backoff = deps.config.retry_backoff
        through = "the log mailer" if email.test else deps.config.mailer_name
        if not error.permanent and claim.attempt <= len(backoff):
            now = deps.clock.now()
            at = now + backoff[claim.attempt - 1]
            event = Event(EventType.DEFERRED, now, {"error": error.message[:500], "next_attempt": at.isoformat()})
            log.warning(
                "email %s: attempt %d through %s failed: %s; next attempt at %s",
                email.id, claim.attempt, through, error.message, at.isoformat(timespec="seconds"),
            )  # fmt: skip
            if await deps.storage.outbox.retry_later(claim, at, error.message, event):
                deps.metrics.email_finished("deferred", mailer=_mailer_label(deps, email))
                deps.queue.wake(at)
                return "retry"
            return "lost"
        log.warning(
            "email %s: attempt %d through %s failed for good%s: %s",
            email.id, claim.attempt, through, "" if error.permanent else " (no attempts left)", error.message,
        )  # fmt: skip
        if error.bounced:
            outcome = await _bounce(deps, claim, email, error)
        else:
            outcome = await _fail(deps, claim, email, error.message)
        if outcome != "lost":
            deps.metrics.email_finished(outcome, mailer=_mailer_label(deps, email))
        return outcome
    email.provider_message_id = provider_id
    email.last_error = None
    event = email.record(EventType.SENT, deps.clock.now())
    if not await deps.storage.outbox.finish(claim, email, [event], notices_for(deps, email, [event])):
        log.warning("lease on %s expired during delivery; another worker may resend it", email.id)
        return "lost"
    started = max(email.created_at, email.scheduled_at or email.created_at)
    latency = (deps.clock.now() - started).total_seconds()
    deps.metrics.email_finished("sent", mailer=_mailer_label(deps, email), latency=latency)
    return "sent"


async def _hold(deps: Deps, claim: Claim, at: datetime) -> str:
    if not await deps.storage.outbox.postpone(claim, at):
        return "lost"
    if deps.pacer.wake_second(at):
        deps.queue.wake(datetime.fromtimestamp(math.ceil(at.timestamp()), tz=UTC))
    return "held"


def _mailer_label(deps: Deps, email: Email) -> str:
    return "log" if email.test else deps.config.mailer_label


def envelope_addresses(email: Email) -> list[str]:
    return [split_mailbox(r)[1] or r for r in (*email.to, *email.cc, *email.bcc)]


async def _fail(deps: Deps, claim: Claim, email: Email, error: str) -> str:
    email.last_error = error
    event = email.record(EventType.FAILED, deps.clock.now(), error=error)
    stored = await deps.storage.outbox.finish(claim, email, [event], notices_for(deps, email, [event]))
    return "failed" if stored else "lost"


async def _bounce(deps: Deps, claim: Claim, email: Email, error: MailerError) -> str:
    """A hard bounce: the email is `bounced`, the refused addresses are suppressed and their contacts
    marked bounced, and the account's bounce rate is checked again."""
    now = deps.clock.now()
    email.last_error = error.message
    event = email.record(EventType.BOUNCED, now, error=error.message, recipients=list(error.bounced))
    if not await deps.storage.outbox.finish(claim, email, [event], notices_for(deps, email, [event])):
        return "lost"
    await suppress_and_recheck(deps, email, Feedback.PERMANENT_BOUNCE, list(error.bounced), error.message)
    return "bounced"


async def _send(mailer: Mailer, email: Email, now: datetime, handover: Handover) -> str:
    try:
        return await mailer.send(email, now, handover)
    except MailerError:
        raise
    except Exception as error:
        # A mailer bug or an unwrapped library error: retry like a transient failure, so the email
        # ends as failed after the backoff instead of being leased again forever.
        log.exception("mailer raised an unexpected error for %s", email.id)
        raise MailerError(f"unexpected mailer error: {type(error).__name__}", permanent=False) from error


async def reconcile_outbox(deps: Deps, limit: int = 1000) -> int:
    """Take back emails whose pass was lost (a killed worker, a crash between commit and wake,
    an expired lease) and wake a delivery pass for them. Safe anywhere, any number of times."""
    now = deps.clock.now()
    await settle_handovers(deps, limit)
    ids = await deps.storage.outbox.stale(now, now - deps.config.reconcile_grace, limit)
    if ids:
        deps.queue.wake()
    return len(ids)


async def keep_alive(deps: Deps, silence: timedelta) -> int:
    """This process beats; the leases of any holder silent for `silence` (killed, its machine
    gone) end now, and the reconciler takes their rows at once: a restart or a dead worker's share
    resumes within seconds instead of a lease. Exactly-once holds as when a lease runs out: a
    claim's attempt number is its token, so a holder that was only slow finds its claim gone and
    hands nothing over, and a row already in hand-over becomes `uncertain`. Returns rows freed."""
    now = deps.clock.now()
    await deps.storage.outbox.beat(deps.config.holder, now)
    freed = await deps.storage.outbox.free_silent(now, now - silence)
    if freed:
        log.info("%d email(s) held by a process that fell silent were taken back", freed)
        await reconcile_outbox(deps)
    return freed


async def settle_handovers(deps: Deps, limit: int = 1000) -> int:
    """Emails whose worker stopped in the middle of handing them over (the lease ran out in
    `handover`). The next hop almost surely has the message, but not surely: a worker killed
    between our record and the last byte left it unsent. So they are never recorded as sent: they
    become `uncertain`, and then, as their project decides, are sent again with the same Message-ID
    (transactional mail by default: a duplicate beats a lost password reset; receivers may drop
    the copy by its Message-ID) or held for the operator (campaigns by default)."""
    now = deps.clock.now()
    claims = await deps.storage.outbox.claim_handovers(now, now + deps.config.lease, limit, deps.config.holder)
    projects: dict[str, Project | None] = {}
    for claim in claims:
        email = evolve(claim.email)
        events = []
        if email.status in (EmailStatus.QUEUED, EmailStatus.UNCERTAIN):
            events.append(email.record(EventType.UNCERTAIN, now, note=UNCERTAIN_NOTE))
        if not await deps.storage.outbox.finish(claim, email, events, notices_for(deps, email, events)):
            continue
        if email.project_id not in projects:
            projects[email.project_id] = await deps.storage.projects.get(email.project_id)
        project = projects[email.project_id]
        # A journey's email is a contact's mail as a campaign's is: the campaigns' policy holds it.
        audience = email.campaign_id is not None or email.contact_id is not None
        resend = project.resends_uncertain(audience) if project else False
        if resend and email.status is EmailStatus.UNCERTAIN:
            await deps.storage.outbox.reopen(email.project_id, email.id, now)
            log.warning("email %s is uncertain (its worker stopped mid hand-over); sending it again", email.id)
        elif email.status is EmailStatus.UNCERTAIN:
            log.warning("email %s is uncertain (its worker stopped mid hand-over); held for the operator", email.id)
    if claims:
        deps.queue.wake()  # resends and webhook deliveries
    return len(claims)


UNCERTAIN_NOTE = "its worker stopped after recording the hand-over and before hearing back"

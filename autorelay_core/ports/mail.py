"""The email record, its outbox and the mailer: the ports the send path crosses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from attrs import fields, frozen

from autorelay_core.domain.emails import Email, EmailStatus, Event
from autorelay_core.domain.reputation import Activity
from autorelay_core.domain.webhooks import Notice
from autorelay_core.policies.pagination import CursorPage, CursorRequest
from autorelay_core.policies.quota import Charge


@frozen
class Claim:
    """A leased email: the worker holding it may deliver it until `lease_until`."""

    email: Email
    attempt: int  # 1 for the first try
    lease_until: datetime


@frozen
class EmailFilter:
    """Which emails a page shows; None: any."""

    status: EmailStatus | None = None
    test: bool | None = None  # test-mode mail only (True) or live only (False)
    recipient: str | None = None  # the first `to` address, compared in any case
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    # Words the email's subject, addresses or tags hold (domain/search.py: every phrase, the last
    # word as a prefix); None or no words: any.
    words: str | None = None


ANY_EMAIL = EmailFilter()
# A page filtered by `words` counts its matches up to this many and one more: a total above it
# means "more than" (counting every match of a word most emails hold would read them all).
SEARCH_COUNTED = 10_000


# What happened to an email, rewritten by every delivery step and event: its record. Everything else
# is what the email is (addresses, subject, headers, bodies, attachments, the relayed message), its
# content, written once: a record of a hundred bytes lets dozens of emails share each page a step
# rewrites, where the whole email (a campaign's List-Unsubscribe pair alone is 800 bytes) let two.
# `variant` rides with the record (never changes) so a campaign's stats can count by it in the row.
RECORD_FIELDS = ("status", "opens", "clicks", "last_error", "provider_message_id", "variant")
CONTENT_FIELDS = tuple(f.name for f in fields(Email) if f.name not in RECORD_FIELDS)


class EmailRepository(Protocol):
    """The email record: what was sent, to whom, and what happened to it.

    Atomicity: the writes that span concerns are single storage operations named for the use case
    step they serve, and each backend writes them once. `add` stores the email, its first events,
    its outbox row and its quota charge; `add_many` the same for a campaign's batch; `record` (like
    `Outbox.finish`) stores the outcome, its events and the webhook deliveries its notices fan out
    to. No use case strings several repository calls together and hopes for atomicity.

    Content is written once: what `add` stores of `CONTENT_FIELDS` (all but the record) stays as it
    was; the writes after it (`record`, `Outbox.finish`, `Outbox.retry_later`) store the
    `RECORD_FIELDS`, so a text generated for delivery, or a return path, is not kept."""

    async def add(self, email: Email, events: list[Event], charges: tuple[Charge, ...] = ()) -> None:
        """Store a new email and its first events in one transaction, ready for the outbox:
        pending, due at `email.scheduled_at` or else at once. In the same transaction, count the
        email against each charge's counter; if any would pass its limit, raise QuotaExceeded and
        store and count nothing (atomically: concurrent sends never overshoot a limit)."""

    async def add_many(self, emails: list[Email], events: list[Event], charges: tuple[Charge, ...] = ()) -> int:
        """Store campaign emails (each with `events`, re-dated per email is not needed: the same
        list) in one transaction, skipping any (campaign_id, contact_id) already stored; returns
        how many were new. Launching twice, or again after a crash, never makes a second email.
        `charges` are charged once per new email, atomically: QuotaExceeded stores nothing."""

    async def get(self, project_id: str, email_id: str) -> Email | None:
        """The email if it exists in this project; None otherwise (including other projects')."""

    async def by_provider_id(self, provider_message_id: str) -> Email | None:
        """The email the mailer accepted under this id (in whichever project)."""

    async def locate(self, email_id: str) -> Email | None:
        """The email with this id in whichever project (for a bounce whose return path named it)."""

    async def events(self, email_id: str) -> list[Event]:
        """The email's events, oldest first (ties in insertion order)."""

    async def page(self, project_id: str, cursor: CursorRequest, where: EmailFilter = ANY_EMAIL) -> CursorPage[Email]:
        """The emails `where` picks, in insertion order (or its reverse) strictly after the cursor's
        email. Each of the filter's conditions is served by an index.

        An `after` id that is not in the project yields an empty page. `total` counts every email in
        the project with that status, whatever the cursor. Rows inserted during a walk never cause a
        duplicate or a gap among the rows that existed when the walk began.
        """

    async def record(
        self, email: Email, events: list[Event], notices: tuple[Notice, ...] = (), *, since: Email | None = None
    ) -> bool:
        """Store what happened to an email after delivery (engagement, bounces, complaints): its
        status and counters, and the events. False if there is no such email in its project, or,
        with `since`, if the stored email's status, opens or clicks are no longer `since`'s (another
        writer got there first: read again and retry). In the same transaction, each notice
        becomes one pending webhook delivery per active endpoint of the project subscribed to its
        type (see WebhookRepository), and a campaign email's engagement among the events becomes
        its contact's events (domain.activity.engagement)."""


class Outbox(Protocol):
    """Where each email is in delivery: the lease machine (pending, leased, handover, done, held).

    The attempt number is the lease token: every claim increments it, and a write under a claim
    that is no longer the newest is refused (False). A claim names its holder (a process, unique
    per start; "" for none): while a holder beats (`beat`) its leases stand, and once it falls
    silent `free_silent` ends them at once instead of when they run out."""

    async def claim(self, email_id: str, now: datetime, lease_until: datetime, holder: str = "") -> Claim | None:
        """Atomically lease the email if it is pending and due (`next attempt <= now`) or leased
        with an expired lease. Two callers racing for one email: exactly one gets the Claim."""

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int, holder: str = "") -> list[Claim]:
        """Atomically lease up to `limit` pending emails that are due, oldest due first. Callers
        racing for the same rows get disjoint sets."""

    async def beat(self, holder: str, now: datetime) -> None:
        """Record that `holder` is alive at `now`."""

    async def free_silent(self, now: datetime, silent_since: datetime) -> int:
        """End, as of `now`, the leases (leased and handover rows) of every holder whose last beat is
        older than `silent_since`: a process gone without a word. The reconciler's sweep and the
        hand-over settling then take those rows at once, exactly as when a lease runs out (a row in
        handover becomes `uncertain`, never sent again unseen). Forgets holders silent for a day.
        Returns how many rows it freed; rows of a holder that never beat are left to their lease."""

    async def finish(self, claim: Claim, email: Email, events: list[Event], notices: tuple[Notice, ...] = ()) -> bool:
        """Store the outcome of a delivery (status, error, provider id) and its events, and mark
        the row done, but only while `claim` still holds the lease. False if the lease was lost.
        Notices become webhook deliveries, and engagement contact events, in the same transaction,
        as for `record`."""

    async def handover(self, claim: Claim, then: Callable[[], None] | None = None) -> bool:
        """Record, durably, that the message is being handed to the next hop (still under the
        claim's lease), then run `then` at once (before any other task gets to run where the
        store can manage it); False, without running it, if the lease was lost. finish and
        retry_later accept the email after this."""

    async def claim_handovers(self, now: datetime, lease_until: datetime, limit: int, holder: str = "") -> list[Claim]:
        """Claim handovers whose worker stopped (lease ran out), to record them as sent; they stay
        in handover, so a second crash cannot turn them into a resend."""

    async def retry_later(self, claim: Claim, at: datetime, error: str, event: Event) -> bool:
        """Return the row to pending, due at `at`, remembering the error and adding `event` (the
        `deferred` event) in the same write; False if the lease was lost."""

    async def postpone(self, claim: Claim, at: datetime) -> bool:
        """Give the email back unsent, due at `at`, as if this claim had not happened (the attempt
        does not count against its retries: pacing held it, or the provider refused the call for
        its rate, so nothing was delivered). False if the lease was lost."""

    async def reopen(self, project_id: str, email_id: str, at: datetime) -> bool:
        """Send an `uncertain` email again: its finished row back to pending, due at `at`, with
        the same Message-ID. False unless it is this project's, finished, and uncertain."""

    async def stale(self, now: datetime, pending_before: datetime, limit: int) -> list[str]:
        """Rows that need a delivery pass, by id (at most `limit` of each kind): leased rows whose
        lease ended by `now`, taken back (atomically pending and due at `now`, so an expired lease
        can no longer finish), and pending rows due before `pending_before`, left as they are (a
        backlog's rows keep their turn; rewriting them at every round cost a busy fleet a write
        for each and sent them to the back of the queue)."""

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        """How many emails are due and waiting for a worker, and the oldest one's due time."""

    async def next_due(self) -> datetime | None:
        """The earliest due time of a pending row (None when none is pending): when a pass will
        next find work, a paced campaign's next email or a scheduled one."""


class CampaignMail(Protocol):
    """A campaign's emails as one group: held and released together, counted together."""

    async def hold(self, campaign_id: str) -> int:
        """Hold the campaign's waiting emails (a paused campaign): no claim takes them."""

    async def release(self, campaign_id: str, now: datetime) -> int:
        """Make held emails claimable again, their due times shifted together so the first is due
        no later than `now` and the pace between them is kept."""

    async def statuses(self, campaign_id: str) -> dict[EmailStatus, int]:
        """How many of the campaign's emails are in each status (one aggregate query)."""

    async def variant_statuses(self, campaign_id: str) -> dict[int, dict[EmailStatus, int]]:
        """`statuses` by A/B variant (emails without one are left out)."""

    async def timeline(self, campaign_id: str) -> list[tuple[str, str, int]]:
        """(UTC minute as YYYY-MM-DDTHH:MM, event type, how many) for the campaign's email events,
        in time order: what the campaign page plots."""

    async def links(self, campaign_id: str, limit: int) -> list[tuple[str, int]]:
        """The campaign's most clicked links with their click counts, most clicked first."""


class QuotaUsage(Protocol):
    """What the quota charges of `EmailRepository.add`/`add_many` have counted."""

    async def usage(self, project_id: str, counter: str, period: str) -> int:
        """How much of a counter the project used in a period."""


class EmailActivity(Protocol):
    """Email events counted by time: the reputation window and the overview's chart."""

    async def activity(self, project_id: str, since: datetime) -> Activity:
        """Live (not test) sends, bounces and complaints recorded since `since`, by event time."""

    async def daily(self, project_id: str, since: datetime) -> list[tuple[str, str, int]]:
        """(UTC day as YYYY-MM-DD, event type, how many) for the project's email events since
        `since`, live and test mail alike: what the dashboard's overview plots."""


# Called by a mailer at the last moment before the message is irrevocably handed over (SMTP: before
# the end of DATA), with the step that hands it over (`then`: short, synchronous, must not raise).
# The outbox records the hand-over and runs `then` right after the record is durable, with nothing
# else in between; False: the email's lease was lost and `then` was not run. See Delivery.HANDOVER.
Handover = Callable[[Callable[[], None]], Awaitable[bool]]


class Mailer(Protocol):
    async def send(self, email: Email, sent_at: datetime, handover: Handover | None = None) -> str:
        """Hand the message to the next hop and return the provider's id for it.

        Raises MailerError(permanent=True) for a rejection that retrying cannot fix (a hard bounce)
        and MailerError(permanent=False) for a transient one. The message carries `email.message_id`
        as its Message-ID. Delivering the same email twice must not make two copies where the next
        hop allows it (the log mailer overwrites one file per message).

        `handover`, when given, is awaited at the last moment before the point of no return; when it
        answers False the message must not be handed over (raise a transient MailerError)."""

    async def close(self) -> None:
        """Let go of kept connections (SMTP: QUIT them); the mailer is not used again."""

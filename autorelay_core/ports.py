"""The ports: what the core needs from the outside world, and what each method guarantees.

Adapters implement these Protocols; `tests/contract/` runs one suite per port over every adapter.
All storage methods are async so that network databases fit; an adapter for an embedded database may
do its (short) work inline.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from attrs import frozen

from autorelay_core.domain.assets import Asset
from autorelay_core.domain.campaigns import Campaign, CampaignStatus
from autorelay_core.domain.contacts import Contact, ContactList, ContactStatus
from autorelay_core.domain.domains import Domain
from autorelay_core.domain.emails import Email, EmailStatus, Event
from autorelay_core.domain.imports import ChunkResult, ContactImport, ImportRows
from autorelay_core.domain.keys import ApiKey
from autorelay_core.domain.otp import OtpCode
from autorelay_core.domain.pacing import PaceRule, Warmup
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.domain.reputation import Activity
from autorelay_core.domain.suppressions import Suppression
from autorelay_core.domain.templates import Template, TemplateVersion
from autorelay_core.domain.users import Membership, Role, Session, User
from autorelay_core.domain.webhooks import Attempt, Notice, PostOutcome, Webhook, WebhookDelivery
from autorelay_core.policies.idempotency import Existing, StoredResponse
from autorelay_core.policies.pagination import CursorPage, CursorRequest, OffsetPage, OffsetRequest
from autorelay_core.policies.quota import Charge
from autorelay_core.policies.rate_limit import Admission, Limit
from autorelay_core.policies.ssrf import Target

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


class IdGenerator(Protocol):
    def new(self, prefix: str) -> str:
        """A new unguessable id `<prefix>_<random>`; never repeats."""


class ProjectRepository(Protocol):
    async def add(self, project: Project) -> None:
        """Store a new project. Conflict if the name is taken."""

    async def get(self, project_id: str) -> Project | None: ...

    async def get_by_name(self, name: str) -> Project | None: ...

    async def list(self) -> list[Project]:
        """Every project, oldest first."""

    async def set_status(self, project_id: str, status: AccountStatus, reason: str) -> None: ...

    async def set_tracking(self, project_id: str, *, opens: bool, clicks: bool) -> None:
        """Whether the project's mail gets an open pixel and tracked links."""

    async def set_uncertain_policy(self, project_id: str, *, transactional: bool, campaigns: bool) -> None:
        """Whether uncertain emails (see EmailStatus.UNCERTAIN) are sent again, per kind of mail."""

    async def rename(self, project_id: str, name: str) -> None:
        """Conflict if another project has that name."""


class KeyRepository(Protocol):
    async def add(self, key: ApiKey) -> None: ...

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key whose SHA-256 is `key_hash`, revoked or not (the caller checks)."""

    async def list(self, project_id: str) -> list[ApiKey]:
        """The project's keys, oldest first, revoked ones included."""

    async def revoke(self, key_id: str, at: datetime) -> bool:
        """Mark the key revoked; False if no such key. Revoking twice keeps the first time."""

    async def touch(self, key_id: str, at: datetime) -> None:
        """Record when the key was last used."""


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


ANY_EMAIL = EmailFilter()


class EmailRepository(Protocol):
    """The email record: what was sent, to whom, and what happened to it.

    Atomicity: the writes that span concerns are single storage operations named for the use case
    step they serve, and each backend writes them once. `add` stores the email, its first events,
    its outbox row and its quota charge; `add_many` the same for a campaign's batch; `record` (like
    `Outbox.finish`) stores the outcome, its events and the webhook deliveries its notices fan out
    to. No use case strings several repository calls together and hopes for atomicity."""

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
        type (see WebhookRepository)."""


class Outbox(Protocol):
    """Where each email is in delivery: the lease machine (pending, leased, handover, done, held).

    The attempt number is the lease token: every claim increments it, and a write under a claim
    that is no longer the newest is refused (False)."""

    async def claim(self, email_id: str, now: datetime, lease_until: datetime) -> Claim | None:
        """Atomically lease the email if it is pending and due (`next attempt <= now`) or leased
        with an expired lease. Two callers racing for one email: exactly one gets the Claim."""

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Claim]:
        """Atomically lease up to `limit` pending emails that are due, oldest due first. Callers
        racing for the same rows get disjoint sets."""

    async def finish(self, claim: Claim, email: Email, events: list[Event], notices: tuple[Notice, ...] = ()) -> bool:
        """Store the outcome of a delivery (status, error, provider id) and its events, and mark
        the row done, but only while `claim` still holds the lease. False if the lease was lost.
        Notices become webhook deliveries in the same transaction, as for `record`."""

    async def handover(self, claim: Claim, then: Callable[[], None] | None = None) -> bool:
        """Record, durably, that the message is being handed to the next hop (still under the
        claim's lease), then run `then` at once (before any other task gets to run where the
        store can manage it); False, without running it, if the lease was lost. finish and
        retry_later accept the email after this."""

    async def claim_handovers(self, now: datetime, lease_until: datetime, limit: int) -> list[Claim]:
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
        """Take back rows whose queue job was lost and return their ids for enqueueing again:
        pending rows due before `pending_before`, and leased rows whose lease ended by `now`.
        Atomically makes each of them pending and due at `now`, so the next call does not return
        them again before another grace period (and an expired lease can no longer finish)."""

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        """How many emails are due and waiting for a worker, and the oldest one's due time."""


class CampaignMail(Protocol):
    """A campaign's emails as one group: held and released together, counted together."""

    async def hold(self, campaign_id: str) -> int:
        """Hold the campaign's waiting emails (a paused campaign): no claim takes them."""

    async def release(self, campaign_id: str, now: datetime) -> int:
        """Make held emails claimable again, their due times shifted together so the first is due
        no later than `now` and the pace between them is kept."""

    async def statuses(self, campaign_id: str) -> dict[EmailStatus, int]:
        """How many of the campaign's emails are in each status (one aggregate query)."""

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


@frozen
class DeliveryClaim:
    """A leased webhook delivery with what posting it needs."""

    delivery: WebhookDelivery
    url: str
    secret: str  # sealed
    lease_until: datetime


class WebhookRepository(Protocol):
    async def add(self, webhook: Webhook) -> None: ...

    async def get(self, project_id: str, webhook_id: str) -> Webhook | None: ...

    async def list(self, project_id: str) -> list[Webhook]:
        """Oldest first."""

    async def update(self, webhook: Webhook) -> None:
        """Store url, events and active. An endpoint that is not active keeps nothing queued: its
        pending deliveries become failed ("endpoint paused")."""

    async def delete(self, project_id: str, webhook_id: str) -> bool:
        """Delete the endpoint and its deliveries (a delivery being posted cannot finish)."""

    async def failures(
        self, project_id: str, webhook_id: str, limit: int
    ) -> tuple[builtins.list[WebhookDelivery], bool]:
        """Deliveries that failed at least once (resolved or not), newest first, and whether there
        are more than `limit`."""

    async def replay(self, project_id: str, webhook_id: str, delivery_id: str, now: datetime) -> WebhookDelivery | None:
        """Make the delivery pending and due `now` (finished, or waiting for a retry), with one more
        replay and a fresh retry schedule. None if there is no such delivery; unchanged (leased)
        while it is being posted."""

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> builtins.list[DeliveryClaim]:
        """Atomically lease up to `limit` pending deliveries due by `now` (and leased ones whose
        lease ended), oldest due first; racing callers get disjoint sets."""

    async def settle(self, claim: DeliveryClaim, delivery: WebhookDelivery) -> bool:
        """Store the outcome of an attempt (state, counters, error, times) while `claim` still holds
        the lease, and keep the attempt itself (`attempt_of`) for the deliveries log; False if the
        lease was lost (or the endpoint deleted)."""

    async def backlog(self, now: datetime) -> int:
        """How many deliveries are due and waiting to be posted."""

    async def add_delivery(self, delivery: WebhookDelivery) -> None:
        """Queue one pending delivery for one endpoint (a test event), due at once."""

    async def recent(
        self, project_id: str, webhook_id: str, limit: int, before: str | None = None
    ) -> tuple[builtins.list[WebhookDelivery], bool]:
        """The endpoint's deliveries in any state, newest first, older than the delivery `before`
        when given, and whether there are more."""

    async def attempts(self, project_id: str, delivery_id: str) -> builtins.list[Attempt]:
        """The delivery's attempts, oldest first; [] for another project's delivery."""

    async def next_due(self) -> datetime | None:
        """When the earliest pending delivery is due, or a leased one's lease ends (the reconciler
        wakes a pass when that is overdue)."""


class AssetRepository(Protocol):
    async def add(self, asset: Asset) -> None: ...

    async def get(self, project_id: str, asset_id: str) -> Asset | None: ...

    async def find(self, asset_id: str) -> Asset | None:
        """The asset in whichever project (serving a public URL, which names only the asset)."""

    async def page(self, project_id: str, category: str | None, cursor: CursorRequest) -> CursorPage[Asset]:
        """Newest first (ignoring `cursor.order`), strictly after the asset `cursor.after`; an
        unknown `after` yields an empty page. Uploads during a walk cause no duplicate or gap among
        the assets that existed when it began. `total` counts every match."""


class TemplateRepository(Protocol):
    """Every add and update also keeps the content as a new version (1, 2, ...) in the same
    transaction; only the newest KEPT_VERSIONS are kept. Delete drops the versions too."""

    async def add(self, template: Template) -> None: ...

    async def get(self, project_id: str, template_id: str) -> Template | None: ...

    async def list(self, project_id: str) -> list[Template]:
        """The project's templates, oldest first."""

    async def update(self, template: Template) -> None: ...

    async def delete(self, project_id: str, template_id: str) -> bool: ...

    async def versions(self, project_id: str, template_id: str) -> builtins.list[TemplateVersion]:
        """The kept versions, newest first; [] for another project's template."""


class DomainRepository(Protocol):
    async def get_by_name(self, project_id: str, name: str) -> Domain | None: ...

    async def add(self, domain: Domain) -> None:
        """Conflict if the project already has the domain."""

    async def update(self, domain: Domain) -> None:
        """Store the domain's status and verified_at."""

    async def count(self, project_id: str) -> int: ...

    async def get(self, project_id: str, domain_id: str) -> Domain | None: ...

    async def all(self, project_id: str) -> list[Domain]:
        """Oldest first."""

    async def delete(self, project_id: str, domain_id: str) -> bool: ...


class LimitOverrides(Protocol):
    async def get(self, project_id: str) -> dict[str, Limit]:
        """The operator's per-endpoint limits for the project ("METHOD /path" -> Limit)."""

    async def set(self, project_id: str, endpoint: str, limit: Limit) -> None: ...

    async def clear(self, project_id: str, endpoint: str) -> bool: ...


class RateLimitStore(Protocol):
    async def hit(self, bucket: str, now: float, limit: Limit) -> Admission:
        """Apply `policies.rate_limit.admit` to the bucket atomically: between processes too, for
        the shared stores (SQL, Redis). Entries older than the window may be forgotten."""


class IdempotencyStore(Protocol):
    async def claim(self, project_id: str, key: str, fingerprint: str, now: datetime) -> Existing | None:
        """Atomically take the key for a new request (None), unless a live record holds it: then
        return that record. A record is dead once `RETENTION` has passed, or, while still in
        flight, once `IN_FLIGHT_LEASE` has (its process died). Racing claims: exactly one wins."""

    async def complete(self, project_id: str, key: str, response: StoredResponse) -> None:
        """Remember the answer of the request that holds the key."""

    async def release(self, project_id: str, key: str) -> None:
        """Forget the claim (the answer is not one to replay), so the client may retry."""


@frozen
class ContactQuery:
    """Which contacts of a list a page shows: `search` matches name or email, case-insensitively."""

    list_id: str
    search: str | None = None
    status: ContactStatus | None = None


class ContactRepository(Protocol):
    async def add(self, contact: Contact) -> None:
        """Conflict if the list already has the address (case-insensitively)."""

    async def add_many(self, contacts: list[Contact]) -> list[Contact]:
        """Insert in one transaction every contact whose address is not yet in its list (nor earlier
        in `contacts`); return the ones inserted. All or nothing on an error."""

    async def get(self, project_id: str, contact_id: str) -> Contact | None: ...

    async def update(self, contact: Contact) -> None:
        """Conflict if the new address (or list) collides with another contact."""

    async def delete(self, project_id: str, contact_id: str) -> bool: ...

    async def page(self, project_id: str, query: ContactQuery, page: OffsetRequest) -> OffsetPage[Contact]:
        """A list's contacts, oldest first, with the total matching the query."""

    async def count(self, project_id: str) -> int: ...

    async def confirm_pending(self, project_id: str, email_key: str) -> int:
        """Make every pending contact with this address in the project subscribed; how many."""

    async def unsubscribe(self, project_id: str, contact_id: str, list_id: str) -> bool:
        """A subscribed or pending contact of that list becomes unsubscribed; False when there was
        nothing to change (gone, moved to another list, already unsubscribed, bounced...)."""

    async def mark_undeliverable(self, project_id: str, email_key: str, status: ContactStatus) -> int:
        """Set every contact with this address in the project to `status` (bounced or complained),
        unless it already is one of those; how many changed."""


class PacingSettings(Protocol):
    """The install's pace rules and warm-up schedules (operator settings, not a project's)."""

    async def rules(self) -> list[PaceRule]:
        """By name."""

    async def set_rule(self, rule: PaceRule) -> None:
        """Add, or replace the rule of the same name."""

    async def drop_rule(self, name: str) -> bool: ...

    async def warmups(self) -> list[Warmup]:
        """By domain."""

    async def set_warmup(self, warmup: Warmup) -> None:
        """Add, or replace the schedule of the same domain."""

    async def drop_warmup(self, domain: str) -> bool: ...


class ImportRepository(Protocol):
    """Contact import jobs and their rows (kept in chunks until the import finishes)."""

    async def add(self, job: ContactImport, chunks: list[ImportRows]) -> None:
        """Store the job and its rows: chunk n holds (line, cells) of rows n*CHUNK_ROWS onwards."""

    async def get(self, project_id: str, import_id: str) -> ContactImport | None: ...

    async def recent(self, project_id: str, limit: int) -> list[ContactImport]:
        """Newest first."""

    async def start(self, project_id: str, import_id: str, mapping: dict[str, int]) -> bool:
        """Set the mapping and queue a job that is waiting for one; False otherwise."""

    async def claim(self, now: datetime, lease_until: datetime) -> tuple[ContactImport, int, ImportRows] | None:
        """Lease one queued or running job whose lease is free (oldest first): the job, the lease
        token, and its next chunk's rows. Racing callers never get the same job."""

    async def advance(
        self, import_id: str, token: int, result: ChunkResult, lease_until: datetime, now: datetime
    ) -> ImportRows | None:
        """Count the next chunk's result while `token` holds the lease and keep the lease until
        `lease_until`; the job is done when it was the last chunk (its rows are dropped). Returns
        the following chunk's rows ([] when done), or None when the lease was lost."""

    async def fail(self, import_id: str, token: int, error: str, now: datetime) -> bool: ...

    async def invalid_rows(self, project_id: str, import_id: str) -> list[tuple[int, str, str]]:
        """The first MAX_REPORTED invalid rows as (line, reason, the row's email cell), by line."""

    async def sample(self, project_id: str, import_id: str, count: int) -> list[list[str]]:
        """The cells of the first `count` rows not yet imported (for the column-matching page)."""

    async def runnable(self, now: datetime) -> bool:
        """Whether some job is queued or running with a lease that has ended (for the reconciler)."""


class ListRepository(Protocol):
    async def add(self, contact_list: ContactList) -> None: ...

    async def get(self, project_id: str, list_id: str, *, counted: bool = True) -> ContactList | None:
        """With its live contact_count when `counted` (else 0)."""

    async def all(self, project_id: str) -> list[ContactList]:
        """Oldest first, each with its live contact_count, in one query."""

    async def update(self, contact_list: ContactList) -> None: ...

    async def delete(self, project_id: str, list_id: str) -> bool:
        """Delete the list and its contacts."""


class OtpRepository(Protocol):
    async def put(self, code: OtpCode) -> None:
        """Store a new code, replacing any earlier one for the same project, address and purpose."""

    async def current(self, project_id: str, email_key: str, purpose: str) -> OtpCode | None: ...

    async def use(self, code: OtpCode, at: datetime) -> bool:
        """Mark the code used, if it is still unused with the same number of wrong tries (so two
        verifications racing with the right code succeed once)."""

    async def wrong_try(self, code: OtpCode) -> None:
        """Count one wrong try against the code."""


@frozen
class CampaignCounts:
    total: int
    sending: int
    completed: int


class CampaignRepository(Protocol):
    async def add(self, campaign: Campaign) -> None: ...

    async def get(self, project_id: str, campaign_id: str) -> Campaign | None: ...

    async def page(self, project_id: str, status: CampaignStatus | None, page: OffsetRequest) -> OffsetPage[Campaign]:
        """Newest first, with the total matching."""

    async def update(self, campaign: Campaign) -> None: ...

    async def delete(self, project_id: str, campaign_id: str) -> bool: ...

    async def counts(self, project_id: str) -> CampaignCounts:
        """All, sending and completed, in one aggregate query."""

    async def count_unsubscribed(self, project_id: str, campaign_id: str) -> None:
        """One more contact unsubscribed through the campaign's link."""

    async def running(self) -> list[Campaign]:
        """Every campaign still sending, in any project (the reconciler completes them)."""


class SuppressionRepository(Protocol):
    async def add(self, suppression: Suppression) -> None:
        """Suppress the address; an address already suppressed keeps its first entry."""

    async def matching(self, project_id: str, email_keys: list[str]) -> list[Suppression]:
        """The entries among these (lower-cased) addresses."""

    async def page(self, project_id: str, limit: int, after: str | None) -> list[Suppression]:
        """Entries ordered by address, strictly after the address `after`; at most `limit`."""

    async def remove(self, project_id: str, email_key: str) -> bool: ...


@frozen
class DkimSetup:
    """How a new sending domain signs: our own key (selector, public key as base64 DER, private key
    sealed), or the mailer's tokens (SES)."""

    selector: str = ""
    public_key: str = ""
    private_key: str = ""
    tokens: tuple[str, ...] = ()


class DomainProvisioner(Protocol):
    async def provision(self, name: str) -> DkimSetup:
        """Set the domain up with the mailer (SES: an email identity) and say how it signs."""


class DnsResolver(Protocol):
    async def txt(self, name: str) -> list[str]:
        """The TXT values at `name` (each record's strings joined); [] when there are none."""

    async def cname(self, name: str) -> list[str]:
        """The CNAME targets at `name`, lower case without the trailing dot; [] when none."""

    async def addresses(self, name: str) -> list[str]:
        """The host's IPv4 and IPv6 addresses (A and AAAA, following CNAMEs); [] when none."""


class Sealer(Protocol):
    """Symmetric authenticated encryption with the server secret, for the few things that must be
    stored but not readable there (an OTP email's body waiting in the outbox)."""

    def seal(self, text: str) -> str: ...

    def open(self, sealed: str) -> str: ...


class Signer(Protocol):
    """Tokens signed with the server secret (HMAC): anyone may read what is inside, nobody can forge
    or alter it. `purpose` keeps the tokens of one use from being accepted by another."""

    def sign(self, purpose: str, fields: tuple[str, ...]) -> str: ...

    def unsign(self, purpose: str, token: str) -> tuple[str, ...] | None:
        """The fields, or None for a token that was not signed by us for this purpose."""


class UserRepository(Protocol):
    """Dashboard users, their project memberships and their sessions."""

    async def add(self, user: User) -> None:
        """Conflict if a user with that email (compared lower-cased) exists."""

    async def get(self, user_id: str) -> User | None: ...

    async def get_by_email(self, email: str) -> User | None:
        """Compared lower-cased."""

    async def list(self) -> list[User]: ...

    async def update(self, user: User) -> None:
        """Store the password hash and link version."""

    async def delete(self, user_id: str) -> bool:
        """The user, their memberships and their sessions."""

    async def set_role(self, membership: Membership) -> None:
        """Add or change the user's role in the project."""

    async def memberships(self, user_id: str) -> builtins.list[Membership]:
        """Ordered by project id (a session starts in the first)."""

    async def members(self, project_id: str) -> builtins.list[tuple[User, Role]]: ...

    async def remove_member(self, user_id: str, project_id: str) -> bool: ...

    async def add_session(self, session: Session) -> None: ...

    async def session(self, session_id: str) -> Session | None: ...

    async def touch_session(self, session_id: str, at: datetime, project_id: str | None = None) -> None:
        """Record the session's latest request (and, when given, the project it now shows)."""

    async def end_session(self, session_id: str) -> None: ...

    async def end_sessions(self, user_id: str) -> None:
        """Every session of the user (password change, removal)."""


class PasswordHasher(Protocol):
    """Slow, salted password hashes (argon2id). CPU-bound: run through Offload."""

    def hash(self, password: str) -> str: ...

    def verify(self, hashed: str, password: str) -> bool:
        """Constant in time whatever is wrong; False for a wrong password or a damaged hash."""


class Storage(Protocol):
    """Every repository of one database. Read-only members, so an adapter may hold any class that
    honours the port (a type checker checks each against it)."""

    @property
    def projects(self) -> ProjectRepository: ...

    @property
    def contacts(self) -> ContactRepository: ...

    @property
    def lists(self) -> ListRepository: ...

    @property
    def otp(self) -> OtpRepository: ...

    @property
    def suppressions(self) -> SuppressionRepository: ...

    @property
    def campaigns(self) -> CampaignRepository: ...

    @property
    def idempotency(self) -> IdempotencyStore: ...

    @property
    def domains(self) -> DomainRepository: ...

    @property
    def limits(self) -> LimitOverrides: ...

    @property
    def keys(self) -> KeyRepository: ...

    @property
    def emails(self) -> EmailRepository: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def campaign_mail(self) -> CampaignMail: ...

    @property
    def quota(self) -> QuotaUsage: ...

    @property
    def activity(self) -> EmailActivity: ...

    @property
    def templates(self) -> TemplateRepository: ...

    @property
    def webhooks(self) -> WebhookRepository: ...

    @property
    def assets(self) -> AssetRepository: ...

    @property
    def users(self) -> UserRepository: ...

    @property
    def imports(self) -> ImportRepository: ...

    @property
    def pacing(self) -> PacingSettings: ...

    async def migrate(self) -> int:
        """Bring the schema to the newest version (safe from many processes at once); returns the
        version reached. Stores without a schema return 0."""

    async def ping(self) -> None:
        """Touch the database with one cheap read; Unavailable when it cannot answer now."""

    async def close(self) -> None: ...


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


class BlobStore(Protocol):
    """Where uploaded files live, each under a key, reachable at a permanent public URL."""

    async def put(self, key: str, data: bytes, content_type: str, *, inline: bool, filename: str) -> None:
        """Store the bytes; whoever serves them later serves `content_type`, nosniff, and (unless
        `inline`) `Content-Disposition: attachment` with `filename`. Writing a key again replaces it."""

    async def get(self, key: str) -> bytes | None: ...

    def url(self, key: str) -> str:
        """The public URL of the key (it does not check that the key exists)."""


class ContentDetector(Protocol):
    def detect(self, head: bytes) -> str | None:
        """The MIME type the bytes' signature shows (the first few KiB are enough); None when
        they match no known binary format (text, HTML, SVG, ...)."""


class WebhookPoster(Protocol):
    async def post(
        self, target: Target, address: str, secret: str, delivery: WebhookDelivery, sent_at: datetime
    ) -> PostOutcome:
        """POST the delivery's body to `target`, connecting to `address` (never resolving the host
        again) while presenting the host name (Host header, TLS SNI and certificate check), signed
        with `secret` (opened): X-Webhook-Signature/-Id/-Event and the Standard Webhooks headers.
        Returns what the answer means (redirects are not followed: a 3xx is not delivered); raises
        WebhookError when there is no answer (refused, timed out after 15 s, TLS failure)."""

    async def close(self) -> None:
        """Let go of kept connections; the poster is not used again."""


class NoticeFormat(Protocol):
    """The wire format of webhook payloads (names, casing, timestamps), kept at the edge."""

    def body(self, event_id: str, event_type: str, email: Email, event: Event) -> str:
        """The payload an endpoint receives for `event` of `email`."""

    def test_body(self, event_id: str, event_type: str, at: datetime) -> str:
        """The payload of a test event (POST /webhooks/:id/test), shaped like a real one."""


class JobQueue(Protocol):
    def wake(self, eta: datetime | None = None) -> None:
        """Make sure a delivery pass over the outbox starts at `eta` (or soon) somewhere.

        Cheap and non-blocking: adapters may coalesce many wakes into one pass, provided a pass
        starts after every wake. A pass may run more than once or be lost; outbox claims and the
        reconciler make either harmless."""


class TemplateEngine(Protocol):
    def variables(self, source: str) -> set[str]:
        """The variables `source` uses. Invalid (naming the line) if it does not parse."""

    def render(self, source: str, data: dict[str, Any], *, strict: bool, html: bool = True) -> str:
        """Render in a sandbox (no code, no attribute access), HTML-escaping values when `html`.
        strict: Invalid naming any variable missing from `data`; otherwise a missing variable
        renders as an empty string. Bounded: a render past the engine's output, loop or time
        limits is Invalid naming the limit. CPU-bound: run it through Offload."""


class Metrics(Protocol):
    """Counts for operators (the Prometheus adapter exports them). Cheap and non-blocking: called
    on the send and delivery paths."""

    def email_accepted(self, *, test: bool, count: int = 1) -> None: ...

    def email_finished(self, outcome: str, *, mailer: str, latency: float | None = None) -> None:
        """outcome: sent, failed, bounced or deferred; latency: seconds from accepted (or the
        scheduled time) to handed over, for sent mail."""

    def rate_limited(self, endpoint: str) -> None: ...

    def webhook_attempt(self, *, ok: bool) -> None: ...


class HtmlToText(Protocol):
    def convert(self, html: str) -> str:
        """A readable plain-text version of an HTML body, in time and memory that stay modest for
        any body (large ones may lose their layout). CPU-bound: run it through Offload."""


class Offload(Protocol):
    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` off the event loop, with few such calls at once (rendering and HTML
        conversion of tenant input), so that one costly template neither stalls the requests
        nor, run a hundred times at once, the memory."""

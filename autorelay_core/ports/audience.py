"""Contacts, lists, imports, one-time codes, campaigns and suppressions."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from attrs import frozen

from autorelay_core.domain.activity import ContactEvent
from autorelay_core.domain.campaigns import Campaign, CampaignStatus
from autorelay_core.domain.contacts import Contact, ContactList, ContactStatus
from autorelay_core.domain.imports import ChunkResult, ContactImport, ImportRows
from autorelay_core.domain.otp import OtpCode
from autorelay_core.domain.properties import ContactProperty
from autorelay_core.domain.segments import Node, Segment
from autorelay_core.domain.suppressions import Suppression
from autorelay_core.domain.topics import Topic
from autorelay_core.policies.pagination import OffsetPage, OffsetRequest


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

    async def get_many(self, project_id: str, contact_ids: list[str]) -> list[Contact]:
        """The project's contacts among the ids (those gone are left out), in the ids' order."""

    async def update(self, contact: Contact) -> None:
        """Conflict if the new address (or list) collides with another contact."""

    async def of_person(self, project_id: str, email_key: str) -> list[Contact]:
        """Every contact of the address in the project (one per list it is in), oldest first."""

    async def people(self, project_id: str, limit: int, after: str | None = None) -> list[Contact]:
        """One contact per address of the project (its oldest), oldest first, at most `limit`;
        with `after` (a contact id from an earlier page), those added after it."""

    async def delete(self, project_id: str, contact_id: str) -> bool: ...

    async def page(self, project_id: str, query: ContactQuery, page: OffsetRequest) -> OffsetPage[Contact]:
        """A list's contacts, oldest first, with the total matching the query."""

    async def count(self, project_id: str) -> int: ...

    async def confirm_pending(self, project_id: str, email_key: str) -> int:
        """Make every pending contact with this address in the project subscribed; how many."""

    async def unsubscribe(self, project_id: str, contact_id: str, list_id: str) -> bool:
        """A subscribed or pending contact of that list becomes unsubscribed; False when there was
        nothing to change (gone, moved to another list, already unsubscribed, bounced...)."""

    async def count_matching(self, project_id: str, segment: Node) -> int:
        """How many people (addresses) of the project have a contact the segment's filter matches,
        read exactly as domain.segments.matches reads it."""

    async def matching(
        self, project_id: str, segment: Node, limit: int, *, subscribed_only: bool = False
    ) -> list[Contact]:
        """One contact per person the filter matches (their oldest matching contact), oldest
        first, at most `limit`; with `subscribed_only`, only subscribed contacts are considered."""

    async def mark_undeliverable(self, project_id: str, email_key: str, status: ContactStatus) -> int:
        """Set every contact with this address in the project to `status` (bounced or complained;
        unsubscribed when the person leaves everything), unless it is bounced or complained already;
        how many rows it touched."""


class PropertyRepository(Protocol):
    """The contact properties a project declares."""

    async def add(self, prop: ContactProperty) -> None:
        """Conflict if the project already has a property with this key."""

    async def all(self, project_id: str) -> list[ContactProperty]:
        """By key."""

    async def get(self, project_id: str, property_id: str) -> ContactProperty | None: ...

    async def set_default(self, prop: ContactProperty) -> None:
        """Store the property's new default (its key and type never change)."""

    async def delete(self, project_id: str, property_id: str) -> bool:
        """Remove the declaration and the property's value from every contact of the project, in one
        transaction (a property declared again later with the same key starts empty)."""


class ContactEvents(Protocol):
    """What contacts did (domain/activity.py), by person: the project and the lower-cased address.
    Campaign mail's engagement is added by EmailRepository.record and Outbox.finish, in their
    transaction (activity.engagement)."""

    async def add(self, event: ContactEvent) -> None: ...

    async def timeline(
        self, project_id: str, email_key: str, limit: int, before: datetime | None = None
    ) -> list[ContactEvent]:
        """The person's events, newest first (by when they occurred, then as recorded), those
        that occurred strictly before `before` when it is given; at most `limit`."""


class SegmentRepository(Protocol):
    """A project's saved segments (their filter as the JSON the user gave, checked)."""

    async def add(self, segment: Segment) -> None:
        """Conflict if the project already has a segment with this name."""

    async def get(self, project_id: str, segment_id: str) -> Segment | None: ...

    async def all(self, project_id: str) -> list[Segment]:
        """Oldest first."""

    async def update(self, segment: Segment) -> None:
        """Conflict if the new name is another segment's."""

    async def delete(self, project_id: str, segment_id: str) -> bool: ...


class TopicRepository(Protocol):
    """A project's topics (domain/topics.py) and each person's choices, by project and lower-cased
    address: True joined, False left; no entry means the topic's default."""

    async def add(self, topic: Topic) -> None:
        """Conflict if the project already has a topic with this name."""

    async def get(self, project_id: str, topic_id: str) -> Topic | None: ...

    async def all(self, project_id: str) -> list[Topic]:
        """Oldest first."""

    async def update(self, topic: Topic) -> None:
        """Store a new name and description (the default never changes); Conflict on a taken name."""

    async def delete(self, project_id: str, topic_id: str) -> bool:
        """Remove the topic and every choice made about it, in one transaction."""

    async def choices(self, project_id: str, email_key: str) -> dict[str, bool]:
        """The person's choices by topic id."""

    async def choose(self, project_id: str, email_key: str, choices: dict[str, bool], at: datetime) -> None:
        """Record the person's choices (topic id -> joined), replacing earlier ones for those topics."""

    async def choices_for(self, project_id: str, topic_id: str, email_keys: list[str]) -> dict[str, bool]:
        """The choices made about one topic by the given people (those who made none are absent)."""


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

    async def keep_rest(self, campaign_id: str, contact_ids: list[str]) -> None:
        """Keep the contacts an A/B test's winner goes to (ids already kept are skipped)."""

    async def rest(self, campaign_id: str) -> list[str]:
        """The kept contact ids, in the order kept."""

    async def drop_rest(self, campaign_id: str) -> None: ...

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

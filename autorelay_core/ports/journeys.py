"""Journeys (domain/journeys.py): their versions, the runs of contacts through them, and the
timers those runs wait on, claimed under leases like the outbox's emails."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from attrs import frozen

from autorelay_core.domain.emails import Email, Event
from autorelay_core.domain.journeys import (
    Journey,
    JourneyRun,
    JourneyVersion,
    RunClaim,
    StepRecord,
    VersionStats,
)
from autorelay_core.domain.webhooks import WebhookDelivery
from autorelay_core.policies.quota import Charge


@frozen
class Move:
    """What one step did to a run, written at once by `JourneyRepository.move`: the run as it now
    stands, the record of the step it passed (None: it only began waiting), and what the step
    queued: an email for the outbox (with its first events and quota charges) or a webhook delivery."""

    run: JourneyRun
    record: StepRecord | None = None
    email: Email | None = None
    events: tuple[Event, ...] = ()
    charges: tuple[Charge, ...] = ()
    delivery: WebhookDelivery | None = None
    held: bool = False  # the claim keeps its lease: the run goes on at once (else it waits, unleased)


class JourneyRepository(Protocol):
    async def add(self, journey: Journey, version: JourneyVersion) -> None: ...

    async def get(self, project_id: str, journey_id: str) -> Journey | None: ...

    async def all(self, project_id: str) -> list[Journey]:
        """Oldest first."""

    async def save(self, journey: Journey, version: JourneyVersion | None = None) -> None:
        """Store the journey's name, status, definition and version; with `version`, keep it too
        (a new version, or the draft's one rewritten in place)."""

    async def delete(self, project_id: str, journey_id: str) -> bool:
        """Remove the journey, its versions, its runs and their records, in one transaction."""

    async def version(self, journey_id: str, number: int) -> JourneyVersion | None: ...

    async def triggered(self, project_id: str, key: str) -> list[Journey]:
        """The project's active journeys whose trigger has this key (Trigger.key)."""

    async def active(self) -> list[Journey]:
        """Every active journey of every project (the scans of list, segment and date triggers)."""

    async def enter(self, runs: list[JourneyRun], not_since: datetime | None) -> list[JourneyRun]:
        """Add each run (all of one journey) unless its person (journey, email_key) already has a
        run with the same entry_key, or, with `not_since`, one that entered at or after it (the
        entry rule), or an earlier run of `runs` took that place. Atomic per person: entries
        racing for one person, one wins. The runs added."""

    async def signal(self, project_id: str, email_key: str, name: str, at: datetime, now: datetime) -> int:
        """An event `name` of the person came (it occurred at `at`): their active runs whose goal
        it is get signal "goal", and those waiting for it (since before `at`) signal "event";
        both become due `now`. A goal signal is never replaced. How many runs it touched."""

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[RunClaim]:
        """Atomically lease up to `limit` active runs due by `now` (unleased, or whose lease ended),
        of journeys that are active, soonest due first; racing callers get disjoint sets. Every
        claim increments the run's attempt: the lease token."""

    async def move(self, claim: RunClaim, move: Move) -> bool:
        """Store the run as `move.run` (its lease kept if `move.held`, else ended), its step
        record, email and delivery, in one transaction, only while `claim` is the run's newest
        claim and the record's step was not passed before; False (and nothing stored) otherwise.
        QuotaExceeded stores nothing."""

    async def release(self, claim: RunClaim) -> bool:
        """End the claim's lease (the run stays due where it is); False if it was not the newest."""

    async def next_due(self) -> datetime | None:
        """When the next active run of an active journey can be claimed: the earliest due time,
        or for a leased run, when its lease ends if that is later (a killed worker's runs)."""

    async def runs_of(self, project_id: str, email_key: str, limit: int) -> list[JourneyRun]:
        """The person's runs, newest entry first."""

    async def records(self, run_ids: list[str]) -> list[StepRecord]:
        """The runs' step records, oldest first."""

    async def entered_since(self, journey_id: str, email_keys: list[str], since: datetime | None) -> set[str]:
        """Which of these people entered the journey at or after `since` (any time: None)."""

    async def stats(self, journey_id: str) -> list[VersionStats]:
        """Per version (newest first) and per step: how many entered, are active, done, exited;
        per step, passed (by outcome), waiting, exited there, and of its emails how many were
        sent, opened and clicked."""

"""Journeys in memory: plain dicts, each method atomic on the one event loop (no await inside a
read-modify-write, the email and delivery writes included)."""

from __future__ import annotations

import builtins
from datetime import datetime

from attrs import evolve

from adapters.storage.memory.emails import MailTable, MemoryEmails
from adapters.storage.memory.webhooks import MemoryWebhooks
from adapters.storage.rows.journeys import counted, step_stats, trigger_key
from autorelay_core.domain.journeys import (
    Journey,
    JourneyRun,
    JourneyStatus,
    JourneyVersion,
    RunClaim,
    RunState,
    StepRecord,
    VersionStats,
)
from autorelay_core.ports.journeys import Move


class MemoryJourneys:
    def __init__(self, mail: MailTable, emails: MemoryEmails, webhooks: MemoryWebhooks) -> None:
        self._mail, self._emails, self._webhooks = mail, emails, webhooks
        self._journeys: dict[str, Journey] = {}
        self._versions: dict[tuple[str, int], JourneyVersion] = {}
        self._runs: dict[str, JourneyRun] = {}
        self._leases: dict[str, tuple[int, datetime | None]] = {}  # run id -> (attempt, lease until)
        self._records: dict[tuple[str, str], StepRecord] = {}

    async def add(self, journey: Journey, version: JourneyVersion) -> None:
        self._journeys[journey.id] = evolve(journey)
        self._versions[(journey.id, version.version)] = version

    async def get(self, project_id: str, journey_id: str) -> Journey | None:
        journey = self._journeys.get(journey_id)
        return evolve(journey) if journey and journey.project_id == project_id else None

    async def all(self, project_id: str) -> builtins.list[Journey]:
        return [evolve(j) for j in self._journeys.values() if j.project_id == project_id]

    async def save(self, journey: Journey, version: JourneyVersion | None = None) -> None:
        if journey.id in self._journeys:
            self._journeys[journey.id] = evolve(journey)
        if version is not None:
            self._versions[(journey.id, version.version)] = version

    async def delete(self, project_id: str, journey_id: str) -> bool:
        if await self.get(project_id, journey_id) is None:
            return False
        del self._journeys[journey_id]
        self._versions = {k: v for k, v in self._versions.items() if k[0] != journey_id}
        gone = {i for i, r in self._runs.items() if r.journey_id == journey_id}
        self._runs = {i: r for i, r in self._runs.items() if i not in gone}
        self._records = {k: r for k, r in self._records.items() if k[0] not in gone}
        return True

    async def version(self, journey_id: str, number: int) -> JourneyVersion | None:
        return self._versions.get((journey_id, number))

    async def triggered(self, project_id: str, key: str) -> builtins.list[Journey]:
        return [
            evolve(j)
            for j in self._journeys.values()
            if j.project_id == project_id and j.status is JourneyStatus.ACTIVE and trigger_key(j) == key
        ]

    async def active(self) -> builtins.list[Journey]:
        return [evolve(j) for j in self._journeys.values() if j.status is JourneyStatus.ACTIVE]

    async def enter(self, runs: builtins.list[JourneyRun], not_since: datetime | None) -> builtins.list[JourneyRun]:
        added = []
        for run in runs:
            theirs = [r for r in self._runs.values() if r.journey_id == run.journey_id and r.email_key == run.email_key]
            if any(r.entry_key == run.entry_key for r in theirs):
                continue
            if not_since is not None and any(r.entered_at >= not_since for r in theirs):
                continue
            self._runs[run.id] = evolve(run)
            self._leases[run.id] = (0, None)
            added.append(evolve(run))
        return added

    async def signal(self, project_id: str, email_key: str, name: str, at: datetime, now: datetime) -> int:
        touched = 0
        for run in self._runs.values():
            if run.project_id != project_id or run.email_key != email_key or run.state is not RunState.ACTIVE:
                continue
            if run.goal == name:
                run.signal, run.due_at = "goal", now
            elif run.signal != "goal" and run.waiting_event == name and run.step_since and run.step_since <= at:
                run.signal, run.due_at = "event", now
            else:
                continue
            touched += 1
        return touched

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> builtins.list[RunClaim]:
        due = sorted(
            (
                r
                for r in self._runs.values()
                if r.state is RunState.ACTIVE
                and r.due_at <= now
                and self._free(r.id, now)
                and self._journeys.get(r.journey_id, None) is not None
                and self._journeys[r.journey_id].status is JourneyStatus.ACTIVE
            ),
            key=lambda r: r.due_at,
        )[:limit]
        claims = []
        for run in due:
            attempt = self._leases[run.id][0] + 1
            self._leases[run.id] = (attempt, lease_until)
            claims.append(RunClaim(evolve(run), attempt, lease_until))
        return claims

    def _free(self, run_id: str, now: datetime) -> bool:
        until = self._leases[run_id][1]
        return until is None or until <= now

    async def move(self, claim: RunClaim, move: Move) -> bool:
        run = self._runs.get(claim.run.id)
        if run is None or self._leases[run.id][0] != claim.attempt:
            return False
        record = move.record
        if record is not None and (record.run_id, record.step_id) in self._records:
            return False
        if move.email is not None:  # QuotaExceeded here stores nothing: nothing was written yet
            await self._emails.add(move.email, list(move.events), move.charges)
        if move.delivery is not None:
            await self._webhooks.add_delivery(move.delivery)
        if record is not None:
            self._records[(record.run_id, record.step_id)] = record
        stored = evolve(move.run)
        if run.signal == "goal" and stored.state is RunState.ACTIVE:  # a goal that came meanwhile stands
            stored.signal, stored.due_at = "goal", run.due_at
        self._runs[run.id] = stored
        self._leases[run.id] = (claim.attempt, claim.lease_until if move.held else None)
        return True

    async def release(self, claim: RunClaim) -> bool:
        if self._leases.get(claim.run.id, (0, None))[0] != claim.attempt:
            return False
        self._leases[claim.run.id] = (claim.attempt, None)
        return True

    async def next_due(self) -> datetime | None:
        due = [
            max(r.due_at, self._leases[r.id][1] or r.due_at)
            for r in self._runs.values()
            if r.state is RunState.ACTIVE
            and self._journeys.get(r.journey_id) is not None
            and self._journeys[r.journey_id].status is JourneyStatus.ACTIVE
        ]
        return min(due, default=None)

    async def runs_of(self, project_id: str, email_key: str, limit: int) -> builtins.list[JourneyRun]:
        theirs = [r for r in self._runs.values() if r.project_id == project_id and r.email_key == email_key]
        return [evolve(r) for r in reversed(theirs)][:limit]

    async def records(self, run_ids: builtins.list[str]) -> builtins.list[StepRecord]:
        wanted = set(run_ids)
        return sorted((r for r in self._records.values() if r.run_id in wanted), key=lambda r: r.at)

    async def entered_since(self, journey_id: str, email_keys: builtins.list[str], since: datetime | None) -> set[str]:
        wanted = set(email_keys)
        return {
            r.email_key
            for r in self._runs.values()
            if r.journey_id == journey_id and r.email_key in wanted and (since is None or r.entered_at >= since)
        }

    async def stats(self, journey_id: str) -> builtins.list[VersionStats]:
        runs = [(r.version, r.state.value, r.step_id, 1) for r in self._runs.values() if r.journey_id == journey_id]
        records, emails = [], []
        for record in self._records.values():
            if record.journey_id != journey_id:
                continue
            records.append((record.version, record.step_id, record.outcome, 1))
            row = self._mail.rows.get(record.email_id or "")
            if row is not None:
                emails.append((record.version, record.step_id, row.email.status.value, 1))
        versions = sorted({v for (j, v) in self._versions if j == journey_id}, reverse=True)
        definitions = {v: self._versions[(journey_id, v)].definition for v in versions}
        return step_stats(versions, definitions, counted(runs, records, emails))

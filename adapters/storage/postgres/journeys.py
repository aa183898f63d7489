"""Journeys on PostgreSQL. Claims take due runs with FOR UPDATE SKIP LOCKED, so workers on several
machines share them; an entry locks its person (an advisory lock on journey and address) for the
entry rule's check and insert; a move is one transaction with the email or delivery it queues."""

from __future__ import annotations

import builtins
import json
from datetime import datetime

from psycopg import AsyncConnection, errors

from adapters.batching import Batcher
from adapters.storage.postgres.database import Database
from adapters.storage.postgres.emails import ADD_EMAIL, ADD_EMAILS, add_email_values, add_emails_values, quota_error
from adapters.storage.rows import journeys as rows
from adapters.storage.rows import webhooks as hook_rows
from autorelay_core.domain.journeys import Journey, JourneyRun, JourneyVersion, RunClaim, StepRecord, VersionStats
from autorelay_core.ports.journeys import Move

_RUN_COLUMNS = rows.RUN_COLUMNS
_INSERT_RUN = f"INSERT INTO journey_runs ({_RUN_COLUMNS}) VALUES ({', '.join(['%s'] * 17)}) ON CONFLICT DO NOTHING"


def _same(moment: object) -> object:
    return moment


# The run's new place, for many runs at once: as rows.MOVE, a goal that came since the claim stands.
_MOVE_MANY = (
    "UPDATE journey_runs r SET step_id = m.step_id, state = m.state, step_since = m.step_since,"
    " waiting_event = m.waiting_event, ended_at = m.ended_at, exit_reason = m.exit_reason, lease_until = m.lease_until,"
    " signal = CASE WHEN r.signal = 'goal' AND m.state = 'active' THEN 'goal' ELSE m.signal END,"
    " due_at = CASE WHEN r.signal = 'goal' AND m.state = 'active' THEN r.due_at ELSE m.due_at END"
    " FROM unnest(%s::text[], %s::integer[], %s::text[], %s::text[], %s::timestamptz[], %s::text[],"
    " %s::timestamptz[], %s::text[], %s::timestamptz[], %s::text[], %s::timestamptz[])"
    " AS m(id, attempt, step_id, state, step_since, waiting_event, ended_at, exit_reason, lease_until, signal, due_at)"
    " WHERE r.id = m.id AND r.attempt = m.attempt RETURNING r.id"
)
_RECORD_MANY = (
    f"INSERT INTO journey_steps ({rows.RECORD_COLUMNS}) SELECT * FROM unnest(%s::text[], %s::text[],"
    " %s::integer[], %s::text[], %s::timestamptz[], %s::text[], %s::text[], %s::text[])"
    " ON CONFLICT DO NOTHING RETURNING run_id"
)


class _Passed(Exception):
    """The step was passed already: roll the move back."""


class PostgresJourneys:
    def __init__(self, db: Database) -> None:
        self.db = db
        # The moves of a pass arrive together (advance_due gathers them): one transaction for them.
        self._moves: Batcher[tuple[RunClaim, Move], bool] = Batcher(self._move_one, self._move_many)

    async def add(self, journey: Journey, version: JourneyVersion) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                f"INSERT INTO journeys ({rows.JOURNEY_COLUMNS}, trigger_key) VALUES ({', '.join(['%s'] * 11)})",
                rows.journey_values(journey, _same),
            )
            await self._keep(conn, version)

    async def _keep(self, conn: AsyncConnection, version: JourneyVersion) -> None:
        await conn.execute(
            "INSERT INTO journey_versions (journey_id, version, definition, created_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (journey_id, version) DO UPDATE SET definition = excluded.definition",
            (version.journey_id, version.version, json.dumps(version.definition), version.created_at),
        )

    async def get(self, project_id: str, journey_id: str) -> Journey | None:
        row = await self.db.fetchone(
            f"SELECT {rows.JOURNEY_COLUMNS} FROM journeys WHERE id = %s AND project_id = %s", (journey_id, project_id)
        )
        return rows.journey_row(row) if row else None

    async def all(self, project_id: str) -> builtins.list[Journey]:
        found = await self.db.fetchall(
            f"SELECT {rows.JOURNEY_COLUMNS} FROM journeys WHERE project_id = %s ORDER BY created_at, id", (project_id,)
        )
        return [rows.journey_row(r) for r in found]

    async def save(self, journey: Journey, version: JourneyVersion | None = None) -> None:
        values = rows.journey_values(journey, _same)
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE journeys SET name = %s, definition = %s, status = %s, version = %s, updated_at = %s,"
                " enabled_at = %s, trigger_key = %s WHERE id = %s AND project_id = %s",
                (values[2], values[3], values[4], values[5], values[8], values[9], values[10], journey.id,
                 journey.project_id),
            )  # fmt: skip
            if version is not None:
                await self._keep(conn, version)

    async def delete(self, project_id: str, journey_id: str) -> bool:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM journeys WHERE id = %s AND project_id = %s", (journey_id, project_id)
            )
            if not cursor.rowcount:
                return False
            for table in ("journey_versions", "journey_steps", "journey_runs"):
                await conn.execute(f"DELETE FROM {table} WHERE journey_id = %s", (journey_id,))
        return True

    async def version(self, journey_id: str, number: int) -> JourneyVersion | None:
        row = await self.db.fetchone(
            "SELECT journey_id, version, definition, created_at FROM journey_versions"
            " WHERE journey_id = %s AND version = %s",
            (journey_id, number),
        )
        return rows.version_row(row) if row else None

    async def triggered(self, project_id: str, key: str) -> builtins.list[Journey]:
        found = await self.db.fetchall(
            f"SELECT {rows.JOURNEY_COLUMNS} FROM journeys"
            " WHERE project_id = %s AND trigger_key = %s AND status = 'active'",
            (project_id, key),
        )
        return [rows.journey_row(r) for r in found]

    async def active(self) -> builtins.list[Journey]:
        found = await self.db.fetchall(f"SELECT {rows.JOURNEY_COLUMNS} FROM journeys WHERE status = 'active'")
        return [rows.journey_row(r) for r in found]

    async def enter(self, runs: builtins.list[JourneyRun], not_since: datetime | None) -> builtins.list[JourneyRun]:
        added = []
        async with self.db.transaction() as conn:
            # One lock per person, taken in one order: entries racing for a person queue here, and
            # two batches never wait on each other in a circle.
            people = sorted({f"{r.journey_id}/{r.email_key}" for r in runs})
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(%s::text[]) AS k", (people,)
            )
            for run in runs:
                if not_since is not None:
                    cursor = await conn.execute(
                        "SELECT 1 FROM journey_runs WHERE journey_id = %s AND email_key = %s AND entered_at >= %s"
                        " LIMIT 1",
                        (run.journey_id, run.email_key, not_since),
                    )
                    if await cursor.fetchone():
                        continue
                cursor = await conn.execute(_INSERT_RUN, rows.run_values(run, _same))
                if cursor.rowcount:
                    added.append(run)
        return added

    async def signal(self, project_id: str, email_key: str, name: str, at: datetime, now: datetime) -> int:
        return await self.db.rowcount(rows.SIGNAL.format(p="%s"), (name, now, project_id, email_key, name, name, at))

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> builtins.list[RunClaim]:
        found = await self.db.fetchall(
            "UPDATE journey_runs SET attempt = attempt + 1, lease_until = %s WHERE seq IN ("
            " SELECT r.seq FROM journey_runs r JOIN journeys j ON j.id = r.journey_id"
            " WHERE r.state = 'active' AND r.due_at <= %s AND (r.lease_until IS NULL OR r.lease_until <= %s)"
            " AND j.status = 'active' ORDER BY r.due_at LIMIT %s FOR UPDATE OF r SKIP LOCKED)"
            f" RETURNING {_RUN_COLUMNS}, attempt",
            (lease_until, now, now, limit),
        )
        return [RunClaim(rows.run_row(r[:-1]), r[-1], lease_until) for r in found]

    async def move(self, claim: RunClaim, move: Move) -> bool:
        return await self._moves.run((claim, move))

    async def _move_one(self, item: tuple[RunClaim, Move]) -> bool:
        claim, move = item
        lease = claim.lease_until if move.held else None
        try:
            async with self.db.transaction() as conn:
                cursor = await conn.execute(
                    rows.MOVE.format(p="%s"), rows.move_values(move.run, lease, claim.attempt, _same)
                )
                if not cursor.rowcount:
                    return False
                if move.record is not None:
                    cursor = await conn.execute(
                        f"INSERT INTO journey_steps ({rows.RECORD_COLUMNS}) VALUES ({', '.join(['%s'] * 8)})"
                        " ON CONFLICT DO NOTHING",
                        rows.record_values(move.record, _same),
                    )
                    if not cursor.rowcount:
                        raise _Passed
                if move.email is not None:
                    try:
                        await conn.execute(ADD_EMAIL, add_email_values(move.email, list(move.events), move.charges))
                    except errors.Error as error:
                        raise quota_error(error, move.charges, 1) from None
                await self._deliveries(conn, [move])
        except _Passed:
            return False
        return True

    async def _move_many(self, batch: builtins.list[tuple[RunClaim, Move]]) -> builtins.list[bool]:
        """The moves of a pass in one transaction and a few statements. Anything unusual (a step
        passed already, a charge over its limit) raises, and the Batcher runs each alone."""
        runs = [(claim, move.run, claim.lease_until if move.held else None) for claim, move in batch]
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                _MOVE_MANY,
                (
                    [run.id for _, run, _ in runs],
                    [claim.attempt for claim, _, _ in runs],
                    [run.step_id for _, run, _ in runs],
                    [run.state.value for _, run, _ in runs],
                    [run.step_since for _, run, _ in runs],
                    [run.waiting_event for _, run, _ in runs],
                    [run.ended_at for _, run, _ in runs],
                    [run.exit_reason for _, run, _ in runs],
                    [lease for _, _, lease in runs],
                    [run.signal for _, run, _ in runs],
                    [run.due_at for _, run, _ in runs],
                ),
            )
            moved = {run_id for (run_id,) in await cursor.fetchall()}
            done = [move for _, move in batch if move.run.id in moved]
            records = [move.record for move in done if move.record is not None]
            if records:
                columns = [
                    list(column) for column in zip(*(rows.record_values(r, _same) for r in records), strict=True)
                ]
                cursor = await conn.execute(_RECORD_MANY, columns)
                if len(await cursor.fetchall()) != len(records):
                    raise _Passed  # a step passed before: the Batcher runs each alone, and says which
            emails = [(move.email, list(move.events), move.charges) for move in done if move.email is not None]
            if emails:
                await conn.execute(ADD_EMAILS, add_emails_values(emails))
            await self._deliveries(conn, done)
        return [move.run.id in moved for _, move in batch]

    @staticmethod
    async def _deliveries(conn: AsyncConnection, moves: builtins.list[Move]) -> None:
        for move in moves:
            if move.delivery is not None:
                await conn.execute(hook_rows.ADD_DELIVERY.format(p="%s"), hook_rows.new_delivery_values(move.delivery))

    async def release(self, claim: RunClaim) -> bool:
        return bool(
            await self.db.rowcount(
                "UPDATE journey_runs SET lease_until = NULL WHERE id = %s AND attempt = %s",
                (claim.run.id, claim.attempt),
            )
        )

    async def next_due(self) -> datetime | None:
        row = await self.db.fetchone(
            "SELECT min(greatest(r.due_at, r.lease_until)) FROM journey_runs r"
            " JOIN journeys j ON j.id = r.journey_id WHERE r.state = 'active' AND j.status = 'active'"
        )
        return row[0] if row else None

    async def runs_of(self, project_id: str, email_key: str, limit: int) -> builtins.list[JourneyRun]:
        found = await self.db.fetchall(
            f"SELECT {_RUN_COLUMNS} FROM journey_runs WHERE project_id = %s AND email_key = %s"
            " ORDER BY seq DESC LIMIT %s",
            (project_id, email_key, limit),
        )
        return [rows.run_row(r) for r in found]

    async def records(self, run_ids: builtins.list[str]) -> builtins.list[StepRecord]:
        found = await self.db.fetchall(
            f"SELECT {rows.RECORD_COLUMNS} FROM journey_steps WHERE run_id = ANY(%s) ORDER BY at, seq", (run_ids,)
        )
        return [rows.record_row(r) for r in found]

    async def entered_since(self, journey_id: str, email_keys: builtins.list[str], since: datetime | None) -> set[str]:
        found = await self.db.fetchall(
            "SELECT DISTINCT email_key FROM journey_runs WHERE journey_id = %s AND email_key = ANY(%s)"
            " AND (%s::timestamptz IS NULL OR entered_at >= %s)",
            (journey_id, email_keys, since, since),
        )
        return {key for (key,) in found}

    async def stats(self, journey_id: str) -> builtins.list[VersionStats]:
        versions = await self.db.fetchall(
            "SELECT version, definition FROM journey_versions WHERE journey_id = %s ORDER BY version DESC",
            (journey_id,),
        )
        counts = rows.counted(
            await self.db.fetchall(rows.RUN_COUNTS.format(p="%s"), (journey_id,)),
            await self.db.fetchall(rows.RECORD_COUNTS.format(p="%s"), (journey_id,)),
            await self.db.fetchall(rows.EMAIL_COUNTS.format(p="%s"), (journey_id,)),
        )
        return rows.step_stats([v for v, _ in versions], {v: rows.as_json(d) for v, d in versions}, counts)

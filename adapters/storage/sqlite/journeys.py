"""Journeys on SQLite. Times the claim compares (due, lease) are epoch seconds, like the outbox's.
A run's move is one write through the group commit: the run, its step record, and the email or
webhook delivery the step queued, in the savepoint of one transaction."""

from __future__ import annotations

import builtins
import sqlite3
from datetime import datetime

from adapters.storage.codec import ts
from adapters.storage.rows import journeys as rows
from adapters.storage.rows import webhooks as hook_rows
from adapters.storage.sqlite.batch import GroupCommit
from adapters.storage.sqlite.emails import add_events, charge_quota, insert_email
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.journeys import Journey, JourneyRun, JourneyVersion, RunClaim, StepRecord, VersionStats
from autorelay_core.ports.journeys import Move

_RUN_COLUMNS = rows.RUN_COLUMNS
_INSERT_RUN = f"INSERT INTO journey_runs ({_RUN_COLUMNS}) VALUES ({', '.join('?' * 17)}) ON CONFLICT DO NOTHING"
_CHUNK = 500


class _Passed(Exception):
    """The step was passed already: undo the run's move (its savepoint)."""


class SqliteJourneys(Tables):
    def __init__(self, tables: Tables, group: GroupCommit) -> None:
        super().__init__(tables.db)
        self._group = group

    async def add(self, journey: Journey, version: JourneyVersion) -> None:
        async with self.tx() as conn:
            conn.execute(
                f"INSERT INTO journeys ({rows.JOURNEY_COLUMNS}, trigger_key) VALUES ({', '.join('?' * 11)})",
                rows.journey_values(journey, ts),
            )
            self._keep(conn, version)

    def _keep(self, conn: sqlite3.Connection, version: JourneyVersion) -> None:
        conn.execute(
            "INSERT INTO journey_versions (journey_id, version, definition, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (journey_id, version) DO UPDATE SET definition = excluded.definition",
            (version.journey_id, version.version, rows.json.dumps(version.definition), ts(version.created_at)),
        )

    async def get(self, project_id: str, journey_id: str) -> Journey | None:
        row = self.conn.execute(
            f"SELECT {rows.JOURNEY_COLUMNS} FROM journeys WHERE id = ? AND project_id = ?", (journey_id, project_id)
        ).fetchone()
        return rows.journey_row(row) if row else None

    async def all(self, project_id: str) -> builtins.list[Journey]:
        found = self.conn.execute(
            f"SELECT {rows.JOURNEY_COLUMNS} FROM journeys WHERE project_id = ? ORDER BY created_at, id", (project_id,)
        )
        return [rows.journey_row(r) for r in found]

    async def save(self, journey: Journey, version: JourneyVersion | None = None) -> None:
        values = rows.journey_values(journey, ts)
        async with self.tx() as conn:
            conn.execute(
                "UPDATE journeys SET name = ?, definition = ?, status = ?, version = ?, updated_at = ?,"
                " enabled_at = ?, trigger_key = ? WHERE id = ? AND project_id = ?",
                (values[2], values[3], values[4], values[5], values[8], values[9], values[10], journey.id,
                 journey.project_id),
            )  # fmt: skip
            if version is not None:
                self._keep(conn, version)

    async def delete(self, project_id: str, journey_id: str) -> bool:
        async with self.tx() as conn:
            if not conn.execute(
                "DELETE FROM journeys WHERE id = ? AND project_id = ?", (journey_id, project_id)
            ).rowcount:
                return False
            conn.execute("DELETE FROM journey_versions WHERE journey_id = ?", (journey_id,))
            conn.execute("DELETE FROM journey_steps WHERE journey_id = ?", (journey_id,))
            conn.execute("DELETE FROM journey_runs WHERE journey_id = ?", (journey_id,))
        return True

    async def version(self, journey_id: str, number: int) -> JourneyVersion | None:
        row = self.conn.execute(
            "SELECT journey_id, version, definition, created_at FROM journey_versions"
            " WHERE journey_id = ? AND version = ?",
            (journey_id, number),
        ).fetchone()
        return rows.version_row(row) if row else None

    async def triggered(self, project_id: str, key: str) -> builtins.list[Journey]:
        found = self.conn.execute(
            f"SELECT {rows.JOURNEY_COLUMNS} FROM journeys"
            " WHERE project_id = ? AND trigger_key = ? AND status = 'active'",
            (project_id, key),
        )
        return [rows.journey_row(r) for r in found]

    async def active(self) -> builtins.list[Journey]:
        found = self.conn.execute(f"SELECT {rows.JOURNEY_COLUMNS} FROM journeys WHERE status = 'active'")
        return [rows.journey_row(r) for r in found]

    async def enter(self, runs: builtins.list[JourneyRun], not_since: datetime | None) -> builtins.list[JourneyRun]:
        added = []
        async with self.tx() as conn:  # one writer at a time: the check and the insert are one
            for run in runs:
                if (
                    not_since is not None
                    and conn.execute(
                        "SELECT 1 FROM journey_runs WHERE journey_id = ? AND email_key = ? AND entered_at >= ? LIMIT 1",
                        (run.journey_id, run.email_key, ts(not_since)),
                    ).fetchone()
                ):
                    continue
                if conn.execute(_INSERT_RUN, rows.run_values(run, ts)).rowcount:
                    added.append(run)
        return added

    async def signal(self, project_id: str, email_key: str, name: str, at: datetime, now: datetime) -> int:
        async with self.tx() as conn:
            return conn.execute(
                rows.SIGNAL.format(p="?"), (name, ts(now), project_id, email_key, name, name, ts(at))
            ).rowcount

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> builtins.list[RunClaim]:
        async with self.tx() as conn:
            found = conn.execute(
                "UPDATE journey_runs SET attempt = attempt + 1, lease_until = ? WHERE seq IN ("
                " SELECT r.seq FROM journey_runs r JOIN journeys j ON j.id = r.journey_id"
                " WHERE r.state = 'active' AND r.due_at <= ? AND (r.lease_until IS NULL OR r.lease_until <= ?)"
                f" AND j.status = 'active' ORDER BY r.due_at LIMIT ?) RETURNING {_RUN_COLUMNS}, attempt",
                (ts(lease_until), ts(now), ts(now), limit),
            ).fetchall()
        return [RunClaim(rows.run_row(r[:-1]), r[-1], lease_until) for r in found]

    async def move(self, claim: RunClaim, move: Move) -> bool:
        lease = ts(claim.lease_until) if move.held else None

        def write(conn: sqlite3.Connection) -> bool:
            if not conn.execute(rows.MOVE.format(p="?"), rows.move_values(move.run, lease, claim.attempt, ts)).rowcount:
                return False
            record = move.record
            if (
                record is not None
                and not conn.execute(
                    f"INSERT INTO journey_steps ({rows.RECORD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    rows.record_values(record, ts),
                ).rowcount
            ):
                raise _Passed
            if move.email is not None:
                for charge in move.charges:
                    charge_quota(conn, move.email.project_id, charge)
                insert_email(conn, move.email)
                add_events(conn, move.email.id, list(move.events))
            if move.delivery is not None:
                conn.execute(hook_rows.ADD_DELIVERY.format(p="?"), hook_rows.new_delivery_values(move.delivery, ts))
            return True

        try:
            return bool(await self._group.run(write))
        except _Passed:
            return False

    async def release(self, claim: RunClaim) -> bool:
        async with self.tx() as conn:
            return bool(
                conn.execute(
                    "UPDATE journey_runs SET lease_until = NULL WHERE id = ? AND attempt = ?",
                    (claim.run.id, claim.attempt),
                ).rowcount
            )

    async def next_due(self) -> datetime | None:
        (due,) = self.conn.execute(
            "SELECT min(max(r.due_at, coalesce(r.lease_until, r.due_at))) FROM journey_runs r"
            " JOIN journeys j ON j.id = r.journey_id WHERE r.state = 'active' AND j.status = 'active'"
        ).fetchone()
        return rows.moment(due) if due is not None else None

    async def runs_of(self, project_id: str, email_key: str, limit: int) -> builtins.list[JourneyRun]:
        found = self.conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM journey_runs WHERE project_id = ? AND email_key = ? ORDER BY seq DESC LIMIT ?",
            (project_id, email_key, limit),
        )
        return [rows.run_row(r) for r in found]

    async def records(self, run_ids: builtins.list[str]) -> builtins.list[StepRecord]:
        found: list[tuple] = []
        for start in range(0, len(run_ids), _CHUNK):
            chunk = run_ids[start : start + _CHUNK]
            found += self.conn.execute(
                f"SELECT seq, {rows.RECORD_COLUMNS} FROM journey_steps WHERE run_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
        return [rows.record_row(r[1:]) for r in sorted(found, key=lambda r: (r[5], r[0]))]  # by time, then as written

    async def entered_since(self, journey_id: str, email_keys: builtins.list[str], since: datetime | None) -> set[str]:
        inside: set[str] = set()
        for start in range(0, len(email_keys), _CHUNK):
            chunk = email_keys[start : start + _CHUNK]
            found = self.conn.execute(
                "SELECT DISTINCT email_key FROM journey_runs WHERE journey_id = ? AND entered_at >= ?"
                f" AND email_key IN ({', '.join('?' * len(chunk))})",
                (journey_id, ts(since) if since else -1e18, *chunk),
            )
            inside |= {key for (key,) in found}
        return inside

    async def stats(self, journey_id: str) -> builtins.list[VersionStats]:
        conn = self.conn
        versions = conn.execute(
            "SELECT version, definition FROM journey_versions WHERE journey_id = ? ORDER BY version DESC", (journey_id,)
        ).fetchall()
        counts = rows.counted(
            conn.execute(rows.RUN_COUNTS.format(p="?"), (journey_id,)).fetchall(),
            conn.execute(rows.RECORD_COUNTS.format(p="?"), (journey_id,)).fetchall(),
            conn.execute(rows.EMAIL_COUNTS.format(p="?"), (journey_id,)).fetchall(),
        )
        return rows.step_stats([v for v, _ in versions], {v: rows.as_json(d) for v, d in versions}, counts)

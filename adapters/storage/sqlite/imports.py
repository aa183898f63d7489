"""Contact import jobs on SQLite (see tables.py for the connection)."""

from __future__ import annotations

import json
from datetime import datetime

from adapters.storage.codec import ts
from adapters.storage.rows import imports as rows
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.imports import ChunkResult, ContactImport

_Q = {name: getattr(rows, name).format(p="?") for name in (
    "INSERT", "INSERT_CHUNK", "GET", "RECENT", "START", "RUNNABLE", "CLAIM", "CHUNK", "ADVANCE", "AFTER_ADVANCE",
    "ADD_INVALID", "DROP_CHUNK", "FAIL", "INVALID",
)}  # fmt: skip


class SqliteImports:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, job: ContactImport, chunks: list[list[tuple[int, list[str]]]]) -> None:
        async with self._t.tx() as conn:
            conn.execute(_Q["INSERT"], rows.values(job, lambda moment: moment.isoformat()))
            conn.executemany(_Q["INSERT_CHUNK"], [(job.id, n, rows.chunk_text(c)) for n, c in enumerate(chunks)])

    async def get(self, project_id: str, import_id: str) -> ContactImport | None:
        row = self._t.conn.execute(_Q["GET"], (import_id, project_id)).fetchone()
        return rows.job_row(row) if row else None

    async def recent(self, project_id: str, limit: int) -> list[ContactImport]:
        return [rows.job_row(r) for r in self._t.conn.execute(_Q["RECENT"], (project_id, limit))]

    async def start(self, project_id: str, import_id: str, mapping: dict[str, int]) -> bool:
        async with self._t.tx() as conn:
            done = conn.execute(_Q["START"], (json.dumps(mapping), import_id, project_id))
        return done.rowcount == 1

    async def claim(self, now: datetime, lease_until: datetime) -> tuple[ContactImport, int, list] | None:
        if not await self.runnable(now):  # the common case, without taking the write lock
            return None
        async with self._t.tx() as conn:
            found = conn.execute(_Q["RUNNABLE"], (ts(now),)).fetchone()
            if found is None:
                return None
            conn.execute(_Q["CLAIM"], (ts(lease_until), found[0], ts(now)))
            (token,) = conn.execute("SELECT token FROM contact_imports WHERE id = ?", found).fetchone()
            row = conn.execute(f"SELECT {rows.COLUMNS} FROM contact_imports WHERE id = ?", found).fetchone()
            job = rows.job_row(row)
            (text,) = conn.execute(_Q["CHUNK"], (job.id, job.chunks_done)).fetchone() or (None,)
        return job, token, rows.chunk_rows(text)

    async def advance(
        self, import_id: str, token: int, result: ChunkResult, lease_until: datetime, now: datetime
    ) -> list | None:
        async with self._t.tx() as conn:
            args = rows.advance_args(result, ts(lease_until), now.isoformat(), import_id, token)
            if conn.execute(_Q["ADVANCE"], args).rowcount != 1:
                return None
            status, done, invalid = conn.execute(_Q["AFTER_ADVANCE"], (import_id,)).fetchone()
            kept = rows.reported(result, invalid - len(result.invalid))
            conn.executemany(_Q["ADD_INVALID"], [(import_id, *row) for row in kept])
            if status == "done":
                conn.execute("DELETE FROM import_chunks WHERE import_id = ?", (import_id,))
                return []
            conn.execute(_Q["DROP_CHUNK"], (import_id, done - 1))
            (text,) = conn.execute(_Q["CHUNK"], (import_id, done)).fetchone() or (None,)
        return rows.chunk_rows(text)

    async def fail(self, import_id: str, token: int, error: str, now: datetime) -> bool:
        async with self._t.tx() as conn:
            failed = conn.execute(_Q["FAIL"], (error[:500], now.isoformat(), import_id, token)).rowcount == 1
            if failed:
                conn.execute("DELETE FROM import_chunks WHERE import_id = ?", (import_id,))
        return failed

    async def invalid_rows(self, project_id: str, import_id: str) -> list[tuple[int, str, str]]:
        return [tuple(r) for r in self._t.conn.execute(_Q["INVALID"], (import_id, project_id))]

    async def sample(self, project_id: str, import_id: str, count: int) -> list[list[str]]:
        job = await self.get(project_id, import_id)
        if job is None:
            return []
        row = self._t.conn.execute(_Q["CHUNK"], (import_id, job.chunks_done)).fetchone()
        return [cells for _, cells in rows.chunk_rows(row[0] if row else None)[:count]]

    async def runnable(self, now: datetime) -> bool:
        return self._t.conn.execute(_Q["RUNNABLE"], (ts(now),)).fetchone() is not None

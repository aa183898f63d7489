"""Contact import jobs on PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime

from adapters.storage.rows import imports as rows
from autorelay_core.domain.imports import ChunkResult, ContactImport

_Q = {name: getattr(rows, name).format(p="%s") for name in (
    "INSERT", "INSERT_CHUNK", "GET", "RECENT", "START", "RUNNABLE", "CLAIM", "CHUNK", "ADVANCE", "AFTER_ADVANCE",
    "ADD_INVALID", "DROP_CHUNK", "FAIL", "INVALID",
)}  # fmt: skip


class PostgresImports:
    def __init__(self, db) -> None:
        self.db = db

    async def add(self, job: ContactImport, chunks: list[list[tuple[int, list[str]]]]) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(_Q["INSERT"], rows.values(job))
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    _Q["INSERT_CHUNK"], [(job.id, n, rows.chunk_text(c)) for n, c in enumerate(chunks)]
                )

    async def get(self, project_id: str, import_id: str) -> ContactImport | None:
        row = await self.db.fetchone(_Q["GET"], (import_id, project_id))
        return rows.job_row(row) if row else None

    async def recent(self, project_id: str, limit: int) -> list[ContactImport]:
        return [rows.job_row(r) for r in await self.db.fetchall(_Q["RECENT"], (project_id, limit))]

    async def start(self, project_id: str, import_id: str, mapping: dict[str, int]) -> bool:
        return await self.db.rowcount(_Q["START"], (json.dumps(mapping), import_id, project_id)) == 1

    async def claim(self, now: datetime, lease_until: datetime) -> tuple[ContactImport, int, list] | None:
        async with self.db.transaction() as conn:
            found = await (await conn.execute(_Q["RUNNABLE"] + " FOR UPDATE SKIP LOCKED", (now,))).fetchone()
            if found is None:
                return None
            await conn.execute(_Q["CLAIM"], (lease_until, found[0], now))
            row = await (
                await conn.execute(f"SELECT {rows.COLUMNS}, token FROM contact_imports WHERE id = %s", found)
            ).fetchone()
            job = rows.job_row(row[:-1])
            chunk = await (await conn.execute(_Q["CHUNK"], (job.id, job.chunks_done))).fetchone()
        return job, row[-1], rows.chunk_rows(chunk[0] if chunk else None)

    async def advance(
        self, import_id: str, token: int, result: ChunkResult, lease_until: datetime, now: datetime
    ) -> list | None:
        async with self.db.transaction() as conn:
            updated = await conn.execute(_Q["ADVANCE"], rows.advance_args(result, lease_until, now, import_id, token))
            if updated.rowcount != 1:
                return None
            status, done, invalid = await (await conn.execute(_Q["AFTER_ADVANCE"], (import_id,))).fetchone()
            kept = rows.reported(result, invalid - len(result.invalid))
            if kept:
                async with conn.cursor() as cursor:
                    await cursor.executemany(_Q["ADD_INVALID"], [(import_id, *row) for row in kept])
            if status == "done":
                await conn.execute("DELETE FROM import_chunks WHERE import_id = %s", (import_id,))
                return []
            await conn.execute(_Q["DROP_CHUNK"], (import_id, done - 1))
            chunk = await (await conn.execute(_Q["CHUNK"], (import_id, done))).fetchone()
        return rows.chunk_rows(chunk[0] if chunk else None)

    async def fail(self, import_id: str, token: int, error: str, now: datetime) -> bool:
        async with self.db.transaction() as conn:
            failed = (await conn.execute(_Q["FAIL"], (error[:500], now, import_id, token))).rowcount == 1
            if failed:
                await conn.execute("DELETE FROM import_chunks WHERE import_id = %s", (import_id,))
        return failed

    async def invalid_rows(self, project_id: str, import_id: str) -> list[tuple[int, str, str]]:
        return [tuple(r) for r in await self.db.fetchall(_Q["INVALID"], (import_id, project_id))]

    async def sample(self, project_id: str, import_id: str, count: int) -> list[list[str]]:
        job = await self.get(project_id, import_id)
        if job is None:
            return []
        row = await self.db.fetchone(_Q["CHUNK"], (import_id, job.chunks_done))
        return [cells for _, cells in rows.chunk_rows(row[0] if row else None)[:count]]

    async def runnable(self, now: datetime) -> bool:
        return await self.db.fetchone(_Q["RUNNABLE"], (now,)) is not None

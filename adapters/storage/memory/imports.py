"""Contact import jobs in memory (for embedding and unit tests)."""

from __future__ import annotations

from datetime import datetime

from attrs import evolve

from adapters.storage.rows.imports import reported
from autorelay_core.domain.imports import ChunkResult, ContactImport, ImportStatus


class MemoryImports:
    def __init__(self) -> None:
        self._jobs: dict[str, ContactImport] = {}
        self._chunks: dict[str, list[list]] = {}
        self._invalid: dict[str, list[tuple[int, str, str]]] = {}
        self._leases: dict[str, tuple[int, datetime]] = {}

    async def add(self, job: ContactImport, chunks: list[list[tuple[int, list[str]]]]) -> None:
        self._jobs[job.id] = evolve(job)
        self._chunks[job.id] = [list(c) for c in chunks]
        self._invalid[job.id] = []

    async def get(self, project_id: str, import_id: str) -> ContactImport | None:
        job = self._jobs.get(import_id)
        return evolve(job) if job and job.project_id == project_id else None

    async def recent(self, project_id: str, limit: int) -> list[ContactImport]:
        found = [j for j in self._jobs.values() if j.project_id == project_id]
        found.sort(key=lambda j: j.created_at, reverse=True)
        return [evolve(j) for j in found[:limit]]

    async def start(self, project_id: str, import_id: str, mapping: dict[str, int]) -> bool:
        job = self._jobs.get(import_id)
        if job is None or job.project_id != project_id or job.status is not ImportStatus.MAPPING:
            return False
        job.mapping, job.status = dict(mapping), ImportStatus.QUEUED
        return True

    def _free(self, job: ContactImport, now: datetime) -> bool:
        lease = self._leases.get(job.id)
        return job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING) and (lease is None or lease[1] <= now)

    async def claim(self, now: datetime, lease_until: datetime) -> tuple[ContactImport, int, list] | None:
        for job in sorted(self._jobs.values(), key=lambda j: j.created_at):
            if self._free(job, now):
                token = self._leases.get(job.id, (0, now))[0] + 1
                self._leases[job.id] = (token, lease_until)
                job.status = ImportStatus.RUNNING
                chunks = self._chunks.get(job.id, [])
                return evolve(job), token, list(chunks[job.chunks_done]) if job.chunks_done < len(chunks) else []
        return None

    async def advance(
        self, import_id: str, token: int, result: ChunkResult, lease_until: datetime, now: datetime
    ) -> list | None:
        job = self._jobs.get(import_id)
        if job is None or job.status is not ImportStatus.RUNNING or self._leases.get(import_id, (0,))[0] != token:
            return None
        self._invalid[import_id] += reported(result, job.invalid_count)
        job.chunks_done += 1
        job.imported += result.imported
        job.skipped += result.skipped
        job.invalid_count += len(result.invalid)
        self._leases[import_id] = (token, lease_until)
        if job.chunks_done >= job.chunks:
            job.status, job.finished_at = ImportStatus.DONE, now
            self._chunks.pop(import_id, None)
            return []
        return list(self._chunks[import_id][job.chunks_done])

    async def fail(self, import_id: str, token: int, error: str, now: datetime) -> bool:
        job = self._jobs.get(import_id)
        if job is None or job.status is not ImportStatus.RUNNING or self._leases.get(import_id, (0,))[0] != token:
            return False
        job.status, job.error, job.finished_at = ImportStatus.FAILED, error[:500], now
        self._chunks.pop(import_id, None)
        return True

    async def invalid_rows(self, project_id: str, import_id: str) -> list[tuple[int, str, str]]:
        job = self._jobs.get(import_id)
        return sorted(self._invalid.get(import_id, [])) if job and job.project_id == project_id else []

    async def sample(self, project_id: str, import_id: str, count: int) -> list[list[str]]:
        job = await self.get(project_id, import_id)
        chunks = self._chunks.get(import_id, [])
        if job is None or job.chunks_done >= len(chunks):
            return []
        return [list(cells) for _, cells in chunks[job.chunks_done][:count]]

    async def runnable(self, now: datetime) -> bool:
        return any(self._free(job, now) for job in self._jobs.values())

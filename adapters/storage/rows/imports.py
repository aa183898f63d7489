"""Contact import jobs <-> rows, shared by the SQL adapters. `{p}` is the driver's placeholder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import overload

from autorelay_core.domain.imports import MAX_REPORTED, ChunkResult, ContactImport, ImportStatus

COLUMNS = (
    "id, project_id, list_id, filename, header, total, created_at, status, mapping, chunks_done, imported,"
    " skipped, invalid_count, error, finished_at"
)
INSERT = f"INSERT INTO contact_imports ({COLUMNS}, chunks) VALUES ({{p}}" + ", {p}" * 15 + ")"
INSERT_CHUNK = "INSERT INTO import_chunks (import_id, number, rows) VALUES ({p}, {p}, {p})"
GET = f"SELECT {COLUMNS} FROM contact_imports WHERE id = {{p}} AND project_id = {{p}}"
RECENT = f"SELECT {COLUMNS} FROM contact_imports WHERE project_id = {{p}} ORDER BY created_at DESC, id LIMIT {{p}}"
START = (
    "UPDATE contact_imports SET mapping = {p}, status = 'queued'"
    " WHERE id = {p} AND project_id = {p} AND status = 'mapping'"
)
# The lease: a claim bumps `token`; only the holder of the current token may advance or fail.
RUNNABLE = (
    "SELECT id FROM contact_imports WHERE status IN ('queued', 'running')"
    " AND (lease_until IS NULL OR lease_until <= {p}) ORDER BY created_at LIMIT 1"
)
CLAIM = (
    "UPDATE contact_imports SET status = 'running', lease_until = {p}, token = token + 1"
    " WHERE id = {p} AND status IN ('queued', 'running') AND (lease_until IS NULL OR lease_until <= {p})"
)
CHUNK = "SELECT rows FROM import_chunks WHERE import_id = {p} AND number = {p}"
ADVANCE = (
    "UPDATE contact_imports SET chunks_done = chunks_done + 1, imported = imported + {p}, skipped = skipped + {p},"
    " invalid_count = invalid_count + {p}, lease_until = {p},"
    " status = CASE WHEN chunks_done + 1 >= chunks THEN 'done' ELSE 'running' END,"
    " finished_at = CASE WHEN chunks_done + 1 >= chunks THEN {p} ELSE NULL END"
    " WHERE id = {p} AND token = {p} AND status = 'running'"
)
AFTER_ADVANCE = "SELECT status, chunks_done, invalid_count FROM contact_imports WHERE id = {p}"
ADD_INVALID = "INSERT INTO import_invalid (import_id, line, reason, cell) VALUES ({p}, {p}, {p}, {p})"
DROP_CHUNK = "DELETE FROM import_chunks WHERE import_id = {p} AND number <= {p}"
FAIL = (
    "UPDATE contact_imports SET status = 'failed', error = {p}, finished_at = {p}, lease_until = NULL"
    " WHERE id = {p} AND token = {p} AND status = 'running'"
)
INVALID = (
    "SELECT i.line, i.reason, i.cell FROM import_invalid i JOIN contact_imports j ON j.id = i.import_id"
    " WHERE i.import_id = {p} AND j.project_id = {p} ORDER BY i.line"
)


@overload
def _time(value: None) -> None: ...
@overload
def _time(value: datetime | float | str) -> datetime: ...
def _time(value: datetime | float | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value) if isinstance(value, str) else datetime.fromtimestamp(value, UTC)


def values(job: ContactImport, when=lambda moment: moment) -> tuple:
    j = job
    return (
        j.id,
        j.project_id,
        j.list_id,
        j.filename,
        json.dumps(j.header),
        j.total,
        when(j.created_at),
        j.status.value,
        json.dumps(j.mapping),
        j.chunks_done,
        j.imported,
        j.skipped,
        j.invalid_count,
        j.error,
        when(j.finished_at) if j.finished_at else None,
        j.chunks,
    )


def job_row(row: tuple) -> ContactImport:
    (iid, project_id, list_id, filename, header, total, created, status, mapping, done, imported, skipped,
     invalid, error, finished) = row  # fmt: skip
    return ContactImport(
        id=iid,
        project_id=project_id,
        list_id=list_id,
        filename=filename,
        header=json.loads(header) if isinstance(header, str) else header,
        total=total,
        created_at=_time(created),
        status=ImportStatus(status),
        mapping=json.loads(mapping) if isinstance(mapping, str) else mapping,
        chunks_done=done,
        imported=imported,
        skipped=skipped,
        invalid_count=invalid,
        error=error,
        finished_at=_time(finished),
    )


def chunk_text(rows: list[tuple[int, list[str]]]) -> str:
    return json.dumps(rows, ensure_ascii=False)


def chunk_rows(text: str | None) -> list:
    return [(line, cells) for line, cells in json.loads(text)] if text else []


def advance_args(result: ChunkResult, lease_until, now, import_id: str, token: int) -> tuple:
    return (result.imported, result.skipped, len(result.invalid), lease_until, now, import_id, token)


def reported(result: ChunkResult, already: int) -> list[tuple[int, str, str]]:
    """The chunk's invalid rows that still fit in the report (the first MAX_REPORTED of the import)."""
    return result.invalid[: max(0, MAX_REPORTED - already)]

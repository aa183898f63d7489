"""Contact imports from a file, of any size, as background jobs (the dashboard's CSV import).

The API's import takes up to 10,000 rows in one transaction. A file goes another way: its rows are
stored with the job, the user matches columns to fields, and a background task in whichever
process claims the job imports it a chunk at a time, holding a lease that each chunk renews. A
restart (or a crash) lets the lease run out and another process carries on from the first chunk
not counted; the contacts of a chunk done twice keep their ids (`contact_id_for`), so each is
inserted and counted once.
"""

from __future__ import annotations

import asyncio
import logging

from autorelay_core.domain.addresses import check_address
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.contacts import Contact, ContactList, ContactStatus
from autorelay_core.domain.headers import one_line_problem
from autorelay_core.domain.imports import (
    CHUNK_ROWS,
    FIELDS,
    ChunkResult,
    ContactImport,
    ImportRows,
    contact_id_for,
    guess_mapping,
)
from autorelay_core.domain.properties import ContactProperty, Values, coerce
from autorelay_core.errors import Invalid, QuotaExceeded, RateLimited
from autorelay_core.policies.rate_limit import HOUR, Limit, refuse
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found
from autorelay_core.usecases.journey_entry import joined
from autorelay_core.usecases.manage_contacts import check_codes_fit, find_list, text_field
from autorelay_core.usecases.manage_properties import declared
from autorelay_core.usecases.otp import send_code

log = logging.getLogger("autorelay.imports")

MAX_ROWS = 500_000
MAX_COLUMNS = 50
UPLOADS = Limit(20, HOUR)  # per person: each upload costs the server a parse of up to 16 MB


async def admit_upload(deps: Deps, uploader: str) -> None:
    """Count an upload of `uploader` (a user id) before its file is read; RateLimited past UPLOADS."""
    now = deps.clock.now().timestamp()
    admission = await deps.rate_limits.hit(f"imports.upload|user:{uploader}", now, UPLOADS)
    if not admission.allowed:
        raise refuse(admission, now, UPLOADS)


async def upload(
    deps: Deps, caller: Caller, list_id: str, filename: str, header: list[str], rows: list[tuple[int, list[str]]]
) -> ContactImport:
    """Store an uploaded file's rows as a job waiting for its column mapping. `rows`: (line in the
    file, cells) of each data row."""
    project_id = caller.project_id
    target = await find_list(deps, caller, list_id)
    if not rows:
        raise Invalid("The file has no rows under its header line", field="file")
    if len(rows) > MAX_ROWS:
        raise Invalid(f"The file has {len(rows):,} rows; at most {MAX_ROWS:,} per import", field="file")
    if len(header) > MAX_COLUMNS:
        raise Invalid(f"The file has {len(header)} columns; at most {MAX_COLUMNS}", field="file")
    job = ContactImport(
        id=deps.ids.new("imp"),
        project_id=project_id,
        list_id=target.id,
        filename=filename[:200],
        header=[h[:100] for h in header],
        total=len(rows),
        created_at=deps.clock.now(),
        mapping=guess_mapping(header, tuple(await declared(deps, project_id))),
    )
    chunks = [rows[n : n + CHUNK_ROWS] for n in range(0, len(rows), CHUNK_ROWS)]
    await deps.storage.imports.add(job, chunks)
    return job


def obvious_mapping(job: ContactImport) -> bool:
    """Every column is named exactly after a field (email, name, company): nothing to ask. Other
    headers are guessed, and the guesses shown to the user to confirm."""
    names = [column.strip().lower() for column in job.header]
    return "email" in names and all(name in FIELDS for name in names) and len(set(names)) == len(names)


async def get_import(deps: Deps, caller: Caller, import_id: str) -> ContactImport:
    project_id = caller.project_id
    return found(await deps.storage.imports.get(project_id, import_id), f"import {import_id}")


async def start(deps: Deps, caller: Caller, import_id: str, mapping: dict[str, int]) -> ContactImport:
    """Match columns to fields or contact properties (email required, each column once) and queue
    the job."""
    project_id = caller.project_id
    job = await get_import(deps, caller, import_id)
    unknown = set(mapping) - set(FIELDS) - set(await declared(deps, project_id))
    if unknown:
        raise Invalid(f"unknown field(s) or properties: {', '.join(sorted(unknown))}")
    if "email" not in mapping:
        raise Invalid("Choose the column that holds the email addresses", field="email")
    if any(not 0 <= column < len(job.header) for column in mapping.values()):
        raise Invalid("A chosen column is not in the file")
    if len(set(mapping.values())) != len(mapping):
        raise Invalid("Each column can fill only one field")
    target = await find_list(deps, caller, job.list_id)
    if target.double_opt_in:
        await check_codes_fit(deps, project_id, job.total)
    if not await deps.storage.imports.start(project_id, import_id, mapping):
        raise Invalid("This import has already started")
    deps.queue.wake()
    return await get_import(deps, caller, import_id)


class BackgroundImports:
    """At most one import running per process, beside the delivery passes. A pass (or the
    reconciler) calls `start_due`; the import goes on until done, stopped, or its lease is lost."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    async def start_due(self, deps: Deps) -> bool:
        if self._task is not None and not self._task.done():
            return False
        now = deps.clock.now()
        claimed = await deps.storage.imports.claim(now, now + deps.config.lease)
        if claimed is None:
            return False
        self._task = asyncio.create_task(_run(deps, *claimed), name=f"import {claimed[0].id}")
        return True

    async def stop(self) -> None:
        """Stop between chunks: the lease runs out and another process (or the next start) resumes."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def _run(deps: Deps, job: ContactImport, token: int, rows: ImportRows) -> None:
    redo = True  # the first chunk after a claim may have been half done by a process that died
    try:
        while rows:
            target = await deps.storage.lists.get(job.project_id, job.list_id, counted=False)
            if target is None:
                await deps.storage.imports.fail(
                    job.id, token, "The list was deleted during the import", deps.clock.now()
                )
                return
            try:
                result = await _chunk(deps, job, target, rows, redo=redo)
            except QuotaExceeded as error:
                await deps.storage.imports.fail(job.id, token, error.message, deps.clock.now())
                return
            now = deps.clock.now()
            following = await deps.storage.imports.advance(job.id, token, result, now + deps.config.lease, now)
            if following is None:
                log.warning("import %s: lease lost; another process carries on", job.id)
                return
            rows, redo = following, False
            await asyncio.sleep(0)  # let requests on this loop through between chunks
        log.info("import %s finished", job.id)
    except Exception:  # a bug must not kill the loop; the lease runs out and the job is retried
        log.exception("import %s failed; it is retried when its lease ends", job.id)


def _cell(cells: list[str], mapping: dict[str, int], name: str) -> str | None:
    column = mapping.get(name)
    if column is None or column >= len(cells):
        return None
    return cells[column].strip() or None


def _contact(
    job: ContactImport,
    line: int,
    cells: list[str],
    status: ContactStatus,
    deps: Deps,
    known: dict[str, ContactProperty],
) -> Contact:
    for name in ("name", "company"):
        value = _cell(cells, job.mapping, name)
        problem = one_line_problem(value) if value else None
        if problem is not None:
            raise Invalid(f"{name} {problem}")
    properties: Values = {}
    for key in job.mapping.keys() - set(FIELDS):
        value = _cell(cells, job.mapping, key)
        if value is not None and key in known:  # an empty cell sets nothing; a removed property neither
            properties[key] = coerce(known[key].type, value, key)
    return Contact(
        id=contact_id_for(job.id, line),
        project_id=job.project_id,
        list_id=job.list_id,
        email=check_address(_cell(cells, job.mapping, "email"), "email"),
        created_at=deps.clock.now(),
        name=text_field(_cell(cells, job.mapping, "name"), "name"),
        company=text_field(_cell(cells, job.mapping, "company"), "company"),
        status=status,
        properties=properties,
    )


async def _chunk(deps: Deps, job: ContactImport, target: ContactList, rows: ImportRows, *, redo: bool) -> ChunkResult:
    status = ContactStatus.PENDING if target.double_opt_in else ContactStatus.SUBSCRIBED
    result = ChunkResult()
    known = await declared(deps, job.project_id)
    valid: list[tuple[int, Contact]] = []
    for line, cells in rows:
        try:
            valid.append((line, _contact(job, line, cells, status, deps, known)))
        except Invalid as error:
            email = _cell(cells, job.mapping, "email") or ""
            result.invalid.append((line, error.message, email[:200]))
    inserted = await deps.storage.contacts.add_many([contact for _, contact in valid])
    ours = {contact.id for contact in inserted}
    if redo:  # contacts this chunk inserted before a crash are ours too, not duplicates
        for _, contact in valid:
            if contact.id not in ours and await deps.storage.contacts.get(job.project_id, contact.id) is not None:
                ours.add(contact.id)
    # The journeys the list starts; after a crash, again for the chunk's contacts (their entry
    # keys keep anyone from entering twice).
    await joined(deps, [contact for _, contact in valid if contact.id in ours])
    refused = 0
    if status is ContactStatus.PENDING:
        waiting = [(line, c) for line, c in valid if c.id in ours]
        for position, (line, contact) in enumerate(waiting):
            try:
                await send_code(deps, Caller.system(job.project_id), contact.email, "subscribe")
            except RateLimited as error:
                await deps.storage.contacts.delete(job.project_id, contact.id)
                ours.discard(contact.id)
                refused += 1
                result.invalid.append((line, f"not imported: {error.message}", contact.email))
            except QuotaExceeded:
                # No contact stays pending without its code: those not sent to go, and the job stops.
                for _, unsent in waiting[position:]:
                    await deps.storage.contacts.delete(job.project_id, unsent.id)
                raise
    result.imported = len(ours)
    result.skipped = len(valid) - len(ours) - refused
    result.invalid.sort()
    return result

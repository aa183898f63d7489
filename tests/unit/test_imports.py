"""Contact imports from a file as background jobs, over the memory adapters: columns matched to
fields, chunks counted once even when one is redone after a crash, invalid rows reported by line,
double opt-in codes sent, a deleted list failing the job."""

from __future__ import annotations

import pytest

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.contacts import ContactStatus
from autorelay_core.domain.imports import CHUNK_ROWS, ImportStatus, guess_mapping
from autorelay_core.errors import Invalid
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.usecases import import_contacts as imports
from autorelay_core.usecases import manage_contacts
from tests.unit.test_send_email import live_key


def rows(count: int, bad: set[int] = frozenset()) -> list[tuple[int, list[str]]]:
    made = []
    for n in range(count):
        email = "not-an-address" if n in bad else f"person{n}@example.com"
        made.append((n + 2, [f"Person {n}", email, "Acme"]))
    return made


async def finish(deps, job_id: str, project_id: str):
    runner = imports.BackgroundImports()
    assert await runner.start_due(deps)
    await runner._task
    return await imports.get_import(deps, Caller.system(project_id), job_id)


async def test_a_file_import_maps_columns_counts_and_reports_bad_lines(deps):
    key = await live_key(deps)
    people = await manage_contacts.create_list(deps, key, "People")
    header = ["Full Name", "E-mail", "Company"]
    source = rows(2 * CHUNK_ROWS + 10, bad={5, 1500})
    source.append((5000, ["Dup", "PERSON0@example.com", ""]))  # the same address again: skipped
    job = await imports.upload(deps, key, people.id, "people.csv", header, source)
    assert job.status is ImportStatus.MAPPING and job.mapping == {"name": 0, "email": 1, "company": 2}
    assert not imports.obvious_mapping(job), "headers that differ from the fields are shown to confirm"

    with pytest.raises(Invalid, match="email addresses"):
        await imports.start(deps, key, job.id, {"name": 0})
    with pytest.raises(Invalid, match="only one field"):
        await imports.start(deps, key, job.id, {"email": 1, "name": 1})
    await imports.start(deps, key, job.id, job.mapping)

    done = await finish(deps, job.id, key.project_id)
    assert done.status is ImportStatus.DONE and done.processed == done.total == 2 * CHUNK_ROWS + 11
    assert (done.imported, done.skipped, done.invalid_count) == (2 * CHUNK_ROWS + 8, 1, 2)
    invalid = await deps.storage.imports.invalid_rows(key.project_id, job.id)
    assert [(line, cell) for line, _, cell in invalid] == [(7, "not-an-address"), (1502, "not-an-address")]
    assert "email" in invalid[0][1]
    page = await manage_contacts.list_contacts(deps, key, people.id, OffsetRequest(1, 100), "person7@", None)
    (found,) = page.items
    assert found.name == "Person 7" and found.company == "Acme" and found.status is ContactStatus.SUBSCRIBED


async def test_a_chunk_redone_after_a_crash_counts_its_contacts_once(deps):
    key = await live_key(deps)
    people = await manage_contacts.create_list(deps, key, "People")
    job = await imports.upload(deps, key, people.id, "p.csv", ["name", "email", "company"], rows(CHUNK_ROWS + 3))
    assert imports.obvious_mapping(job)
    await imports.start(deps, key, job.id, job.mapping)
    claimed, _token, first = await deps.storage.imports.claim(deps.clock.now(), deps.clock.now() + deps.config.lease)
    # A process inserts the first chunk's contacts and dies before counting them.
    people_list = await deps.storage.lists.get(key.project_id, people.id)
    await imports._chunk(deps, claimed, people_list, first, redo=True)
    deps.clock.advance(seconds=deps.config.lease.total_seconds() * 2)

    done = await finish(deps, job.id, key.project_id)
    assert (done.imported, done.skipped) == (CHUNK_ROWS + 3, 0)
    assert (await deps.storage.lists.get(key.project_id, people.id)).contact_count == CHUNK_ROWS + 3


async def test_a_double_opt_in_import_sends_codes_and_a_deleted_list_fails_the_job(deps, mailer):
    key = await live_key(deps)
    confirmed = await manage_contacts.create_list(deps, key, "Confirmed", double_opt_in=True)
    job = await imports.upload(deps, key, confirmed.id, "c.csv", ["name", "email", "company"], rows(3))
    await imports.start(deps, key, job.id, job.mapping)
    done = await finish(deps, job.id, key.project_id)
    assert done.imported == 3
    await deps.queue.drain()
    assert sorted(m.to[0] for m in mailer.sent) == [f"person{n}@example.com" for n in range(3)]
    page = await manage_contacts.list_contacts(deps, key, confirmed.id, OffsetRequest(1, 10), None, None)
    assert {c.status for c in page.items} == {ContactStatus.PENDING}

    doomed = await manage_contacts.create_list(deps, key, "Doomed")
    job = await imports.upload(deps, key, doomed.id, "d.csv", ["name", "email", "company"], rows(3))
    await imports.start(deps, key, job.id, job.mapping)
    await manage_contacts.delete_list(deps, key, doomed.id)
    failed = await finish(deps, job.id, key.project_id)
    assert failed.status is ImportStatus.FAILED and "deleted" in failed.error


async def test_another_project_cannot_start_or_read_an_import(deps):
    mine = await live_key(deps, "mine")
    theirs = await live_key(deps, "theirs")
    people = await manage_contacts.create_list(deps, mine, "People")
    job = await imports.upload(deps, mine, people.id, "p.csv", ["email"], [(2, ["a@example.com"])])
    with pytest.raises(Exception, match="not found"):
        await imports.start(deps, theirs, job.id, {"email": 0})
    with pytest.raises(Exception, match="not found"):
        await imports.upload(deps, theirs, people.id, "p.csv", ["email"], [(2, ["a@example.com"])])


def test_guessing_columns():
    assert guess_mapping(["Email Address", "First Name", "Organization", "Notes"]) == {
        "email": 0,
        "name": 1,
        "company": 2,
    }
    assert guess_mapping(["a", "b"]) == {}

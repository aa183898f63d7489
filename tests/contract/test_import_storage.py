"""Contact import jobs over every storage adapter: chunks handed out under a lease, counted once,
invalid rows kept (up to the report's size), one project's job invisible to another."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from attrs import evolve

from autorelay_core.domain.imports import CHUNK_ROWS, ChunkResult, ContactImport, ImportStatus
from tests.contract.conftest import BACKENDS
from tests.contract.test_storage import NOW

LEASE = NOW + timedelta(seconds=60)


def job(import_id: str = "imp_1", total: int = 2 * CHUNK_ROWS + 5, project_id: str = "prj_a") -> ContactImport:
    return ContactImport(import_id, project_id, "lst_1", "people.csv", ["Email", "Name"], total, NOW)


def chunks_for(total: int) -> list[list[tuple[int, list[str]]]]:
    rows = [(line + 2, [f"p{line}@example.com", f"P {line}"]) for line in range(total)]
    return [rows[n : n + CHUNK_ROWS] for n in range(0, total, CHUNK_ROWS)]


async def test_an_import_runs_chunk_by_chunk_under_its_lease(store):
    await store.imports.add(job(), chunks_for(2 * CHUNK_ROWS + 5))
    assert (await store.imports.get("prj_a", "imp_1")).status is ImportStatus.MAPPING
    assert await store.imports.sample("prj_a", "imp_1", 2) == [["p0@example.com", "P 0"], ["p1@example.com", "P 1"]]
    assert await store.imports.sample("prj_b", "imp_1", 2) == []
    assert await store.imports.claim(NOW, LEASE) is None, "a job waiting for its mapping does not run"
    assert not await store.imports.runnable(NOW)
    assert await store.imports.get("prj_b", "imp_1") is None
    assert not await store.imports.start("prj_b", "imp_1", {"email": 0})
    assert await store.imports.start("prj_a", "imp_1", {"email": 0, "name": 1})
    assert not await store.imports.start("prj_a", "imp_1", {"email": 1}), "started once"
    assert await store.imports.runnable(NOW)

    claimed, token, first = await store.imports.claim(NOW, LEASE)
    assert claimed.mapping == {"email": 0, "name": 1} and claimed.status is ImportStatus.RUNNING
    assert first[0] == (2, ["p0@example.com", "P 0"]) and len(first) == CHUNK_ROWS
    assert await store.imports.claim(NOW, LEASE) is None, "leased"
    assert not await store.imports.runnable(NOW)

    result = ChunkResult(imported=990, skipped=9, invalid=[(7, "email is not an address", "nope")])
    second = await store.imports.advance("imp_1", token, result, LEASE, NOW)
    assert second[0][0] == CHUNK_ROWS + 2
    assert await store.imports.advance("imp_1", token + 1, ChunkResult(), LEASE, NOW) is None, "not the holder"

    # The holder dies; after its lease another process claims the job and goes on from chunk 2.
    later = LEASE + timedelta(seconds=1)
    again, token2, rows = await store.imports.claim(later, later + timedelta(seconds=60))
    assert token2 != token and again.chunks_done == 1 and rows == second
    assert await store.imports.advance("imp_1", token, ChunkResult(), LEASE, NOW) is None, "the old lease is gone"
    third = await store.imports.advance("imp_1", token2, ChunkResult(imported=1000), later, later)
    assert len(third) == 5
    assert await store.imports.advance("imp_1", token2, ChunkResult(imported=4, skipped=1), later, later) == []

    done = await store.imports.get("prj_a", "imp_1")
    assert done.status is ImportStatus.DONE and done.finished and done.processed == done.total
    assert (done.imported, done.skipped, done.invalid_count) == (1994, 10, 1)
    assert await store.imports.invalid_rows("prj_a", "imp_1") == [(7, "email is not an address", "nope")]
    assert await store.imports.invalid_rows("prj_b", "imp_1") == []
    assert await store.imports.claim(later + timedelta(hours=1), later + timedelta(hours=2)) is None


async def test_a_failed_import_stops_and_lists_newest_first(store):
    await store.imports.add(job("imp_old", 3), chunks_for(3))
    await store.imports.add(evolve(job("imp_new", 3), created_at=LEASE), chunks_for(3))
    await store.imports.add(job("imp_other", 3, project_id="prj_b"), chunks_for(3))
    assert [j.id for j in await store.imports.recent("prj_a", 10)] == ["imp_new", "imp_old"]
    await store.imports.start("prj_a", "imp_old", {"email": 0})
    _, token, _ = await store.imports.claim(NOW, LEASE)
    assert await store.imports.fail("imp_old", token, "the list was deleted", NOW)
    failed = await store.imports.get("prj_a", "imp_old")
    assert failed.status is ImportStatus.FAILED and failed.error == "the list was deleted"
    assert await store.imports.claim(LEASE + timedelta(hours=1), LEASE + timedelta(hours=2)) is None


@pytest.mark.parametrize("make_storage", [b for b in BACKENDS if b != "memory"], indirect=True)
def test_racing_claims_never_share_a_job(make_storage):
    async def seed() -> None:
        store = make_storage()
        for n in range(20):
            await store.imports.add(job(f"imp_{n:02}", 3), chunks_for(3))
            await store.imports.start("prj_a", f"imp_{n:02}", {"email": 0})
        await store.close()

    async def racer() -> list[str]:
        store = make_storage()
        won = []
        while (claimed := await store.imports.claim(NOW, LEASE)) is not None:
            won.append(claimed[0].id)
        await store.close()
        return won

    asyncio.run(seed())

    async def race() -> list[list[str]]:
        return await asyncio.gather(*(asyncio.to_thread(asyncio.run, racer()) for _ in range(4)))

    results = asyncio.run(race())
    everything = [i for won in results for i in won]
    assert sorted(everything) == [f"imp_{n:02}" for n in range(20)]

"""The asset repository over every storage adapter: newest-first cursor pages without a duplicate or
a gap while uploads keep arriving, category filter, project scope."""

from __future__ import annotations

from datetime import timedelta

from autorelay_core.domain.assets import Asset
from autorelay_core.policies.pagination import CursorRequest
from tests.contract.test_storage import NOW


def asset(n: int, project_id: str = "prj_a", category: str = "image") -> Asset:
    asset_id = f"ast_{n:04d}"
    created = NOW + timedelta(seconds=n)
    return Asset(asset_id, project_id, f"{n}.png", "image/png", category, 10 + n, f"{asset_id}/{n}.png", created)


async def test_round_trip_and_scope(store):
    await store.assets.add(asset(1))
    assert await store.assets.get("prj_a", "ast_0001") == asset(1)
    assert await store.assets.get("prj_b", "ast_0001") is None
    assert await store.assets.find("ast_0001") == asset(1)
    assert await store.assets.find("ast_9999") is None


async def test_pages_walk_newest_first_with_no_duplicate_or_gap_while_uploads_arrive(store):
    for n in range(25):
        await store.assets.add(asset(n, category="pdf" if n % 3 == 0 else "image"))
    await store.assets.add(asset(900, project_id="prj_b"))
    seen, after, extra = [], None, 1000
    while True:
        page = await store.assets.page("prj_a", None, CursorRequest(limit=4, after=after))
        seen += [a.id for a in page.items]
        await store.assets.add(asset(extra))  # newer than everything being walked
        extra += 1
        if not page.has_more:
            break
        after = page.items[-1].id
    assert seen == [f"ast_{n:04d}" for n in reversed(range(25))]
    pdfs = await store.assets.page("prj_a", "pdf", CursorRequest(limit=100))
    assert [a.id for a in pdfs.items] == [f"ast_{n:04d}" for n in reversed(range(0, 25, 3))] and pdfs.total == 9
    assert (await store.assets.page("prj_a", None, CursorRequest(limit=5, after="ast_0900"))).items == []

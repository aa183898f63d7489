"""Assets in memory."""

from __future__ import annotations

from attrs import evolve

from autorelay_core.domain.assets import Asset
from autorelay_core.policies.pagination import CursorPage, CursorRequest


class MemoryAssets:
    def __init__(self) -> None:
        self._rows: list[Asset] = []  # in upload order

    async def add(self, asset: Asset) -> None:
        self._rows.append(evolve(asset))

    async def get(self, project_id: str, asset_id: str) -> Asset | None:
        return next((evolve(a) for a in self._rows if a.id == asset_id and a.project_id == project_id), None)

    async def find(self, asset_id: str) -> Asset | None:
        return next((evolve(a) for a in self._rows if a.id == asset_id), None)

    async def page(self, project_id: str, category: str | None, cursor: CursorRequest) -> CursorPage[Asset]:
        matching = [
            (position, a)
            for position, a in enumerate(self._rows)
            if a.project_id == project_id and category in (None, a.category)
        ]
        total = len(matching)
        if cursor.after is not None:
            anchor = next(
                (p for p, a in enumerate(self._rows) if a.id == cursor.after and a.project_id == project_id), None
            )
            if anchor is None:
                return CursorPage([], 0, False)
            matching = [(p, a) for p, a in matching if p < anchor]
        newest_first = [a for _, a in reversed(matching)]
        return CursorPage([evolve(a) for a in newest_first[: cursor.limit]], total, len(newest_first) > cursor.limit)

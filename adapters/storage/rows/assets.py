"""Asset <-> row helpers and the page query shared by the SQL adapters (`{p}`: the placeholder)."""

from __future__ import annotations

from datetime import UTC, datetime

from autorelay_core.domain.assets import Asset

COLUMNS = "id, project_id, name, content_type, category, size, key, created_at"


def values(asset: Asset, when=lambda moment: moment) -> tuple:
    a = asset
    return (a.id, a.project_id, a.name, a.content_type, a.category, a.size, a.key, when(a.created_at))


def asset_row(row: tuple) -> Asset:
    asset_id, project_id, name, content_type, category, size, key, created = row
    if not isinstance(created, datetime):
        created = datetime.fromtimestamp(created, UTC)
    return Asset(asset_id, project_id, name, content_type, category, size, key, created)


def page_queries(category: str | None, after_seq: int | None, p: str) -> tuple[str, str, list[str]]:
    """(count query, page query, the arguments after project_id) newest first, by insertion order."""
    where, args = f"project_id = {p}", []
    if category is not None:
        where += f" AND category = {p}"
        args.append(category)
    count = f"SELECT count(*) FROM assets WHERE {where}"
    if after_seq is not None:
        where += f" AND seq < {after_seq:d}"
    page = f"SELECT {COLUMNS} FROM assets WHERE {where} ORDER BY seq DESC LIMIT {p}"
    return count, page, args

"""Upload, list and attach assets."""

from __future__ import annotations

from autorelay_core.domain.assets import (
    CATEGORIES,
    MAX_BYTES,
    UNKNOWN_TYPE,
    Asset,
    category_of,
    safe_name,
    served_inline,
)
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.emails import Attachment
from autorelay_core.errors import Invalid, NotFound, TooLarge
from autorelay_core.policies.pagination import CursorPage, CursorRequest
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found


async def upload_asset(deps: Deps, caller: Caller, filename: str | None, data: bytes) -> Asset:
    """Store the file (the blob first, then its row: a row never names a missing blob)."""
    project_id = caller.project_id
    if len(data) > MAX_BYTES:
        raise TooLarge(f"file is larger than {MAX_BYTES} bytes (2 MiB)")
    if not data:
        raise Invalid("file is empty", field="file")
    content_type = deps.content_types.detect(data[:8192]) or UNKNOWN_TYPE
    asset_id = deps.ids.new("ast")
    name = safe_name(filename)
    asset = Asset(
        id=asset_id,
        project_id=project_id,
        name=name,
        content_type=content_type,
        category=category_of(content_type),
        size=len(data),
        key=f"{asset_id}/{name}",
        created_at=deps.clock.now(),
    )
    await deps.blobs.put(asset.key, data, content_type, inline=served_inline(content_type), filename=name)
    await deps.storage.assets.add(asset)
    return asset


async def list_assets(deps: Deps, caller: Caller, category: str | None, cursor: CursorRequest) -> CursorPage[Asset]:
    project_id = caller.project_id
    if category is not None and category not in CATEGORIES:
        raise Invalid(f"category must be one of {', '.join(CATEGORIES)}", field="category")
    if cursor.after is not None and await deps.storage.assets.get(project_id, cursor.after) is None:
        raise Invalid("cursor is not the id of an asset of this project", field="cursor")
    return await deps.storage.assets.page(project_id, category, cursor)


async def attachment_from_asset(deps: Deps, project_id: str, asset_id: str, filename: str | None) -> Attachment:
    asset = found(await deps.storage.assets.get(project_id, asset_id), f"attachments: asset {asset_id}")
    data = await deps.blobs.get(asset.key)
    if data is None:
        raise NotFound(f"the file of asset {asset_id} is gone from the blob store")
    # `filename`: the sender's own name for it, already cleaned as every attachment name is.
    return Attachment(filename=filename or asset.name, content=data, content_type=asset.content_type)


async def public_file(deps: Deps, asset_id: str, name: str) -> tuple[Asset, bytes]:
    """An asset and its bytes, by its id and file name alone: assets are served to anyone who has
    the link (images in mail). NotFound names neither the asset nor its project."""
    asset = await deps.storage.assets.find(asset_id)
    data = await deps.blobs.get(asset.key) if asset is not None and asset.name == name else None
    if asset is None or data is None:
        raise NotFound("no such file")
    return asset, data

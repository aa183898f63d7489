"""/assets: upload (multipart, 2 MiB, read as it streams), list with cursors, and `/files/...`, where
AutoRelay serves files kept on local disk: the stored type, nosniff, and anything a browser could run
(HTML, SVG, unknown types) only as a download."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.responses import JSON, iso
from adapters.http.routing import resource
from adapters.http.uploads import read_file
from autorelay_core.domain.assets import MAX_BYTES, Asset, served_inline
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.usecases.manage_assets import list_assets, public_file, upload_asset


def asset_view(request: Request, asset: Asset) -> dict[str, Any]:
    return {
        "object": "asset",
        "id": asset.id,
        "name": asset.name,
        "url": deps_of(request).blobs.url(asset.key),
        "content_type": asset.content_type,
        "category": asset.category,
        "size": asset.size,
        "created_at": iso(asset.created_at),
    }


@requires("assets.write")
async def upload(request: Request) -> Response:
    sent = await read_file(request, "file", MAX_BYTES)
    asset = await upload_asset(deps_of(request), caller_of(request), sent.filename, sent.data)
    return JSON(asset_view(request, asset), status_code=201)


@requires("assets.read")
async def list_uploads(request: Request) -> Response:
    query = request.query_params
    cursor = CursorRequest.parse(query.get("limit"), None, query.get("cursor"), default=50, maximum=100)
    page = await list_assets(deps_of(request), caller_of(request), query.get("category"), cursor)
    return JSON(
        {
            "object": "list",
            "data": [asset_view(request, a) for a in page.items],
            "has_more": page.has_more,
            "next_cursor": page.items[-1].id if page.has_more and page.items else None,
        }
    )


async def serve_file(request: Request) -> Response:
    asset, data = await public_file(deps_of(request), request.path_params["asset_id"], request.path_params["name"])
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "public, max-age=31536000, immutable",
        "Content-Disposition": "inline"
        if served_inline(asset.content_type)
        else f"attachment; filename*=UTF-8''{quote(asset.name)}",
    }
    return Response(data, media_type=asset.content_type, headers=headers)


routes = [
    resource("/api/v1/assets", GET=list_uploads, POST=upload),
    resource("/files/{asset_id}/{name}", GET=serve_file),
]

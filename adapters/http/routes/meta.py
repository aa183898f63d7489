"""Health and the machine-readable contract."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.responses import JSON
from adapters.http.routing import resource

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"


async def healthz(request: Request) -> Response:
    return JSON({"ok": True})


async def openapi(request: Request) -> Response:
    return Response(request.app.state.spec, media_type="application/yaml")


routes = [
    resource("/healthz", GET=healthz),
    resource("/api/v1/openapi.yaml", GET=openapi),
]

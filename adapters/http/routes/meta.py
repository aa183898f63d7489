"""Health and the machine-readable contract."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.http.responses import JSON

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"


async def healthz(request: Request) -> Response:
    return JSON({"ok": True})


async def openapi(request: Request) -> Response:
    return Response(request.app.state.spec, media_type="application/yaml")


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/api/v1/openapi.yaml", openapi, methods=["GET"]),
]

"""Health and the machine-readable contract."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.responses import JSON
from adapters.http.routing import resource

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"


async def healthz(request: Request) -> Response:
    """Liveness: the process answers. Touches nothing, so a slow backend never fails it."""
    return JSON({"ok": True})


async def readyz(request: Request) -> Response:
    """Readiness: the database and the queue answer; 503 naming what is down otherwise (a load
    balancer takes the process out of rotation, an operator sees which backend to look at)."""
    report = await request.app.state.services.readiness()
    ready = all(state == "ok" for state in report.values())
    headers = {} if ready else {"Retry-After": "5"}
    return JSON({"ok": ready, **report}, status_code=200 if ready else 503, headers=headers)


async def openapi(request: Request) -> Response:
    return Response(request.app.state.spec, media_type="application/yaml")


routes = [
    resource("/healthz", GET=healthz),
    resource("/readyz", GET=readyz),
    resource("/api/v1/openapi.yaml", GET=openapi),
]

"""Health and the machine-readable contract."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import yaml
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

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


async def home(request: Request) -> Response:
    """The first URL a person opens: the dashboard where it is served, else the API's index."""
    if request.app.state.has_dashboard:
        return RedirectResponse("/app/", status_code=302)
    return await api_index(request)


async def api_index(request: Request) -> Response:
    """What this server offers and where, for a person or a client that starts at the API's root."""
    links = {"docs": "/docs", "openapi": "/api/v1/openapi.yaml", "health": "/healthz"}
    if request.app.state.has_dashboard:
        links["dashboard"] = "/app/"
    return JSON(
        {
            "name": "AutoRelay API",
            "version": "v1",
            "authentication": "Authorization: Bearer ak_live_... (or ak_test_...)",
            "links": links,
        }
    )


STATIC = Path(__file__).resolve().parent.parent / "static"
_ICONS = {"favicon.ico": "image/x-icon", "favicon.svg": "image/svg+xml"}


async def icon(request: Request) -> Response:
    """The tab icon every page (and a browser on its own, for /favicon.ico) asks for."""
    name = request.url.path.lstrip("/")
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(_icon_bytes(name), media_type=_ICONS[name], headers=headers)


@functools.cache
def _icon_bytes(name: str) -> bytes:
    return (STATIC / name).read_bytes()  # read once: every page (and browsers on their own) ask


async def openapi(request: Request) -> Response:
    return Response(request.app.state.spec, media_type="application/yaml")


async def openapi_json(request: Request) -> Response:
    """The same contract as JSON (for tools that want it, and for the /docs page)."""
    state = request.app.state
    if getattr(state, "spec_json", None) is None:
        state.spec_json = json.dumps(yaml.safe_load(state.spec), separators=(",", ":")).encode()
    return Response(state.spec_json, media_type="application/json")


DOCS_PAGE = b"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AutoRelay API reference</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<style>body { margin: 0; }</style>
</head>
<body>
<redoc spec-url="/api/v1/openapi.json" hide-download-button="false"></redoc>
<script src="/docs/static/redoc-2.5.2.standalone.js"></script>
</body>
</html>
"""
# Redoc styles itself at run time (inline styles) and searches in a worker it makes from a blob;
# scripts still come only from this server.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    " font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; frame-ancestors 'none'"
)


async def docs(request: Request) -> Response:
    """The API reference, rendered in the browser by a vendored Redoc from the served contract."""
    headers = {"Content-Security-Policy": DOCS_POLICY, "X-Content-Type-Options": "nosniff"}
    return Response(DOCS_PAGE, media_type="text/html; charset=utf-8", headers=headers)


routes = [
    resource("/", GET=home),
    resource("/api/v1", GET=api_index),
    resource("/api/v1/", GET=api_index),
    resource("/favicon.ico", GET=icon),
    resource("/favicon.svg", GET=icon),
    resource("/healthz", GET=healthz),
    resource("/readyz", GET=readyz),
    resource("/api/v1/openapi.yaml", GET=openapi),
    resource("/api/v1/openapi.json", GET=openapi_json),
    resource("/docs", GET=docs),
]

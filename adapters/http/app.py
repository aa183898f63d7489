"""The Starlette application: routes, error handlers, body limit, and the services' lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from adapters.http.errors import HANDLERS
from adapters.http.limits import BodyLimit
from adapters.http.metrics import RequestMetrics
from adapters.http.resend import create_resend_app
from adapters.http.routes import (
    assets,
    campaigns,
    contacts,
    domains,
    emails,
    events,
    inbound,
    inbound_routes,
    journeys,
    meta,
    otp,
    preferences,
    properties,
    providers,
    segments,
    stats,
    suppressions,
    templates,
    topics,
    tracking,
    unsubscribe,
    webhooks,
)
from adapters.returned_mail.sns import SnsVerifier
from autorelay_core.usecases.context import Deps


class Runtime(Protocol):
    """What the app needs from the composition root (composition.build.Services)."""

    deps: Deps

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def readiness(self) -> dict[str, str]:
        """ "ok" or what is wrong, per backend ("database", "queue")."""


ROUTES = [
    *meta.routes,
    *emails.routes,
    *templates.routes,
    *contacts.routes,
    *properties.routes,
    *events.routes,
    *segments.routes,
    *topics.routes,
    *journeys.routes,
    *campaigns.routes,
    *otp.routes,
    *unsubscribe.routes,
    *preferences.routes,
    *suppressions.routes,
    *domains.routes,
    *providers.routes,
    *stats.routes,
    *webhooks.routes,
    *tracking.routes,
    *assets.routes,
    *inbound.routes,
    *inbound_routes.routes,
]


STATIC = Path(__file__).resolve().parent / "static"


def create_app(
    services: Runtime,
    *,
    max_body_bytes: int = 16 * 1024 * 1024,
    sns: SnsVerifier | None = None,
    trusted_proxies: list[str] | None = None,
    dashboard: Any = None,
    metrics: Any = None,
) -> Starlette:
    """`sns` checks SES feedback (POST /providers/ses/events); without one every message is refused.
    `trusted_proxies`: addresses or networks whose X-Forwarded-For names the client (none: the
    connection's peer is the client, whatever headers say). `dashboard`: an ASGI app served at /app.
    `metrics`: what GET /metrics renders and how requests are counted (`observe`, `page`), or None."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.start()
        try:
            yield
        finally:
            await services.stop()

    app = Starlette(
        routes=[
            *ROUTES,
            Mount("/compat/resend", app=create_resend_app(services)),
            *([Mount("/app", app=dashboard)] if dashboard is not None else []),
            *([Route("/metrics", metrics.page, methods=["GET"])] if metrics is not None else []),
            Mount("/docs/static", app=StaticFiles(directory=STATIC), name="docs-static"),
        ],
        exception_handlers=HANDLERS,
        middleware=[
            *([Middleware(RequestMetrics, observe=metrics.observe)] if metrics is not None else []),
            *([Middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies)] if trusted_proxies else []),
            Middleware(BodyLimit, max_bytes=max_body_bytes),
        ],
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.sns = sns or SnsVerifier(set())
    app.state.spec = meta.SPEC_PATH.read_bytes()
    app.state.has_dashboard = dashboard is not None
    return app


def route_table() -> list[tuple[str, str]]:
    """(METHOD, path) for every route, for the spec-coverage test."""
    table: list[tuple[str, Any]] = []
    for route in ROUTES:
        for method in sorted((route.methods or set()) - {"HEAD"}):
            table.append((method, route.path))
    return table

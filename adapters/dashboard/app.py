"""The dashboard: server-rendered pages (Jinja2) with htmx, mounted at /app by `autorelay serve`.

A driving adapter like the HTTP API: every action goes through the core's use cases. Pages carry a
strict Content-Security-Policy: scripts and styles only from /app/static (no inline code), no
frames but the email preview's own sandboxed one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.dashboard.pages import render
from adapters.dashboard.views import (
    ab_tests,
    auth,
    campaigns,
    contacts,
    domains,
    emails,
    inbound,
    inbound_routes,
    journeys,
    keys,
    overview,
    segments,
    settings,
    templates,
    webhooks,
)
from adapters.statuses import status_of
from autorelay_core.errors import AutoRelayError

log = logging.getLogger("autorelay.dashboard")
STATIC = Path(__file__).resolve().parent / "static"
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"cache-control": b"no-store",
}


class SecurityHeaders:
    """Every dashboard answer: the page policy (unless the handler set its own, as the sandboxed
    email preview does), no sniffing, no caching, no referrer across origins, and Server-Timing
    (the server's time for the page, as browsers' developer tools and bench/dashboard.py read it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", PAGE_POLICY.encode()))
                    headers.append((b"x-frame-options", b"DENY"))
                static = scope["path"].startswith("/static/")
                headers += [
                    (k, v) for k, v in _HEADERS.items() if k not in present and not (static and k == b"cache-control")
                ]
                headers.append((b"server-timing", f"app;dur={took:.1f}".encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


async def _home(request: Request) -> Response:
    return RedirectResponse("/app/overview", status_code=303)


_TITLES = {400: "That did not work", 404: "Not found", 409: "Not now", 413: "Too large", 429: "Slow down"}


async def _refused(request: Request, exc: Exception) -> Response:
    """A core error no view caught (a query parameter a store refuses, say) as the error page with
    its reason. Handled by class, so Starlette answers it inside the app: no traceback, and the
    connection stays open."""
    assert isinstance(exc, AutoRelayError)
    status = status_of(exc)
    if status == 500:
        log.error("unmapped core error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    message = exc.message if status != 500 else "Something went wrong on our side; try again."
    return render(request, "error.html", status, title=_TITLES.get(status, "That did not work"), message=message)


def create_dashboard(
    services: object, *, base_url: str, raw_message: Callable[[str], bytes | None] = lambda email_id: None
) -> ASGIApp:
    """`raw_message(email_id)`: the exact bytes that left, where the mailer kept them (the log mailer's
    files), for the download button; None where it did not."""
    routes = [
        Route("/", _home),
        *auth.routes,
        *overview.routes,
        *keys.routes,
        *emails.routes,
        *inbound_routes.routes,  # /inbound/routes before /inbound/{message_id}
        *inbound.routes,
        *templates.routes,
        *contacts.routes,
        *segments.routes,
        *journeys.routes,
        *campaigns.routes,
        *ab_tests.routes,
        *webhooks.routes,
        *domains.routes,
        *settings.routes,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={AutoRelayError: _refused})
    app.state.services = services
    app.state.base_url = base_url.rstrip("/")
    app.state.secure_cookies = base_url.startswith("https://")
    app.state.raw_message = raw_message
    app.state.csv_reading = asyncio.Semaphore(1)
    return SecurityHeaders(app)

"""GET /metrics (Prometheus text format) and the per-request counts behind it.

Without AUTORELAY_METRICS_TOKEN the page answers only clients at the allowed addresses (loopback
by default); with a token it answers only `Authorization: Bearer <token>`, from anywhere. What it
renders, and how requests are counted, comes from the composition root (the Prometheus adapter)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Observe = Callable[[str, str, int, float], None]
Render = Callable[[], Awaitable[bytes]]
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_FAMILIES = (("/app", "dashboard"), ("/compat/resend", "resend"), ("/api/v1/track", "tracking"))


def _route(scope: Scope) -> str:
    """The API endpoint the router recorded ("POST /api/v1/emails"), else a coarse family: the
    label's values stay few whatever paths clients try."""
    recorded = scope.get("state", {}).get("endpoint")
    if recorded:
        return str(recorded)
    path = scope.get("path", "")
    if path in ("/metrics", "/healthz", "/readyz"):
        return path
    return next((name for prefix, name in _FAMILIES if path.startswith(prefix)), "other")


class RequestMetrics:
    def __init__(self, app: ASGIApp, observe: Observe) -> None:
        self.app, self.observe = app, observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self.observe(_route(scope), scope.get("method", ""), status, time.perf_counter() - started)


def metrics_page(render: Render, *, token: str, allowed: frozenset[str]) -> Callable[[Request], Awaitable[Response]]:
    async def page(request: Request) -> Response:
        if token:
            presented = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(presented.encode(), token.encode()):
                return PlainTextResponse("A metrics token is required: Authorization: Bearer <token>\n", 401)
        elif request.client is None or request.client.host not in allowed:
            return PlainTextResponse(
                "Metrics answer only local clients; set AUTORELAY_METRICS_TOKEN to scrape from elsewhere\n", 403
            )
        return Response(await render(), media_type=CONTENT_TYPE)

    return page

"""A pure ASGI middleware that refuses bodies over the limit while they stream in (413),
without reading more than the limit."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.http.errors import error_response
from autorelay_core.errors import TooLarge

# Public endpoints (no API key) take small bodies: a token, a one-click form, an SNS notice.
PUBLIC_BODY_LIMITS = {"/api/v1/unsubscribe": 64 * 1024, "/api/v1/providers/": 256 * 1024}


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, public: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.public = PUBLIC_BODY_LIMITS if public is None else public

    def _limit(self, path: str) -> int:
        return next((limit for prefix, limit in self.public.items() if path.startswith(prefix)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit(scope["path"])
        too_large = TooLarge(f"The request body is larger than {max_bytes} bytes")
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > max_bytes:
                await error_response(too_large)(scope, receive, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise too_large
            return message

        await self.app(scope, limited, send)

"""Bearer-key authentication and scope checks, as a decorator on route handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.requests import Request
from starlette.responses import Response

from autorelay_core.domain.keys import ApiKey
from autorelay_core.errors import Forbidden
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.manage_keys import authenticate

Handler = Callable[[Request], Awaitable[Response]]


def deps_of(request: Request) -> Deps:
    return request.app.state.services.deps


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def key_of(request: Request) -> ApiKey:
    return request.state.key


def requires(scope: str) -> Callable[[Handler], Handler]:
    """Authenticate the request and check that its key has `scope` (or `full`)."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapper(request: Request) -> Response:
            key = await authenticate(deps_of(request), bearer_token(request))
            if not key.allows(scope):
                raise Forbidden(f"This API key lacks the '{scope}' scope")
            request.state.key = key
            return await handler(request)

        wrapper.scope = scope  # type: ignore[attr-defined]
        return wrapper

    return decorate

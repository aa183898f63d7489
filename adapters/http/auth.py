"""Bearer-key authentication and scope checks, as a decorator on route handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.requests import Request
from starlette.responses import Response

from autorelay_core.domain.keys import ApiKey
from autorelay_core.errors import Forbidden
from autorelay_core.policies.rate_limit import policy_name, reset_after
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.enforce_limits import Applied, enforce
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
    """Authenticate the request, check that its key has `scope` (or `full`), and count it
    against the endpoint's rate limits (RateLimit headers on the answer)."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapper(request: Request) -> Response:
            deps = deps_of(request)
            key = await authenticate(deps, bearer_token(request))
            if not key.allows(scope):
                raise Forbidden(f"This API key lacks the '{scope}' scope")
            request.state.key = key
            applied = await enforce(deps, request.state.endpoint, key=key)
            response = await handler(request)
            if applied:
                add_rate_headers(response, applied)
            return response

        wrapper.scope = scope  # type: ignore[attr-defined]
        return wrapper

    return decorate


def add_rate_headers(response: Response, applied: list[Applied]) -> None:
    """IETF draft-ietf-httpapi-ratelimit-headers: the policies, and what is left of each."""
    policies, states = [], []
    for item in applied:
        name, limit = policy_name(item.limit), item.limit
        policies.append(f'"{name}";q={limit.count};w={limit.window:g}')
        remaining = max(0, limit.count - item.admission.used)
        states.append(f'"{name}";r={remaining};t={reset_after(item.admission, item.now, limit)}')
    response.headers["RateLimit-Policy"] = ", ".join(policies)
    response.headers["RateLimit"] = ", ".join(states)

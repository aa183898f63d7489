"""What every API request passes before its handler, as one decorator: the bearer key, the
account status, the key's scope, the endpoint's rate limits and, on POST/PUT/PATCH, the
Idempotency-Key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.errors import error_response
from adapters.http.operations import operation_of
from autorelay_core.domain.callers import Caller
from autorelay_core.errors import AutoRelayError
from autorelay_core.policies.idempotency import METHODS, StoredResponse, replayable
from autorelay_core.policies.rate_limit import policy_name, reset_after
from autorelay_core.usecases.access import admit
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.enforce_limits import Applied
from autorelay_core.usecases.idempotent import run_once
from autorelay_core.usecases.manage_keys import authenticate

Handler = Callable[[Request], Awaitable[Response]]
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def deps_of(request: Request) -> Deps:
    return request.app.state.services.deps


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def client_ip(request: Request) -> str:
    """The client's address: the connection's peer, or, when that peer is a proxy the operator
    trusts (AUTORELAY_TRUSTED_PROXIES), what it says in X-Forwarded-For (ProxyHeadersMiddleware
    rewrites the peer before any route runs). Never a header from anyone else."""
    return request.client.host if request.client else "unknown"


def caller_of(request: Request) -> Caller:
    """Who asks: the request's API key, as the core's caller (set by `requires`)."""
    return request.state.caller


def requires(scope: str) -> Callable[[Handler], Handler]:
    """Authenticate the request, check that its key has `scope` (or `full`), and count it
    against the endpoint's rate limits (RateLimit headers on the answer)."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapper(request: Request) -> Response:
            deps = deps_of(request)
            caller = Caller.for_key(await authenticate(deps, bearer_token(request)))
            limited_as = operation_of(request.state.endpoint)
            applied = await admit(deps, caller, scope=scope, limited_as=limited_as, mutating=request.method in MUTATING)
            request.state.caller = caller
            idempotency_key = request.headers.get("idempotency-key")
            if idempotency_key is not None and request.method in METHODS:
                response = await _idempotent(request, handler, idempotency_key)
            else:
                response = await handler(request)
            # Limits on a subject only the handler knows (OTP's recipient) are reported here too.
            applied += getattr(request.state, "applied_later", [])
            if applied:
                add_rate_headers(response, applied)
            return response

        return wrapper

    return decorate


async def _idempotent(request: Request, handler: Handler, key: str) -> Response:
    """Run the handler under an Idempotency-Key; its own error answers are stored like successes."""
    body = await request.body()  # Starlette keeps it, so the handler can read it again

    async def operation() -> tuple[StoredResponse, bool]:
        refused: AutoRelayError | None = None
        try:
            response = await handler(request)
        except AutoRelayError as error:
            refused, response = error, error_response(error)
        stored = StoredResponse(response.status_code, response.media_type or "application/json", bytes(response.body))
        return stored, replayable(refused)

    # The concrete request, ids and query included: the same key on another contact or campaign is
    # another request (422), never a replay of something that did not happen there.
    query = request.scope["query_string"].decode("latin-1")
    target = f"{request.method} {request.url.path}" + (f"?{query}" if query else "")
    stored, replayed = await run_once(deps_of(request), caller_of(request), key, target, body, operation)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(stored.body, status_code=stored.status, media_type=stored.content_type, headers=headers)


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

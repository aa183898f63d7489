"""One Starlette Route per path, dispatching on the method, so a 405 lists every allowed method."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from autorelay_core.errors import Invalid

Handler = Callable[[Request], Awaitable[Response]]


def _has_nul(request: Request) -> bool:
    if any("\x00" in value for value in request.path_params.values()):
        return True
    return bool(request.scope["query_string"]) and any(
        "\x00" in key or "\x00" in value for key, value in request.query_params.multi_items()
    )


def resource(path: str, **handlers: Handler) -> Route:
    """`resource("/api/v1/x", GET=read, POST=create)`."""
    allowed = ", ".join(sorted(handlers))

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        handler = handlers.get(method)
        if handler is None:
            raise HTTPException(405, headers={"Allow": allowed})
        # "METHOD /route/{param}": what rate limits and idempotency are keyed on.
        request.state.endpoint = f"{method} {path}"
        if _has_nul(request):
            raise Invalid("the URL must not contain the NUL character (%00)")
        return await handler(request)

    dispatch.__name__ = f"resource_{path}"
    return Route(path, dispatch, methods=[*handlers, *(["HEAD"] if "GET" in handlers else [])])

"""One Starlette Route per path, dispatching on the method, so a 405 lists every allowed method."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Handler = Callable[[Request], Awaitable[Response]]


def resource(path: str, **handlers: Handler) -> Route:
    """`resource("/api/v1/x", GET=read, POST=create)`."""
    allowed = ", ".join(sorted(handlers))

    async def dispatch(request: Request) -> Response:
        handler = handlers.get(request.method) or (handlers.get("GET") if request.method == "HEAD" else None)
        if handler is None:
            raise HTTPException(405, headers={"Allow": allowed})
        return await handler(request)

    dispatch.__name__ = f"resource_{path}"
    return Route(path, dispatch, methods=[*handlers, *(["HEAD"] if "GET" in handlers else [])])

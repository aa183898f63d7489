"""The baseline for bench/send.py: a bare Starlette JSON endpoint that parses the body and answers."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def echo(request: Request) -> JSONResponse:
    body = await request.json()
    return JSONResponse({"id": "em_bare", "success": True, "messageId": body.get("subject", "")})


app = Starlette(routes=[Route("/api/v1/emails", echo, methods=["POST"])])

"""AutoRelay's rate limiter inside a plain Starlette app, with no other part of AutoRelay: the rule
(autorelay_core.policies.rate_limit, sliding window) over a store (here in memory; the Redis and SQL
stores share limits between processes), answering 429 with Retry-After as AutoRelay's API does.

    python examples/rate_limit_starlette.py
"""

import asyncio
import time

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.limits.memory import MemoryRateLimits
from autorelay_core.policies.rate_limit import Limit, Scope, refuse

LOGIN = Limit(count=3, window=60, scope=Scope.IP)  # three tries a minute per client address
limits = MemoryRateLimits()


async def login(request: Request) -> Response:
    client = request.client.host if request.client else "unknown"
    now = time.time()
    admission = await limits.hit(f"login|ip:{client}", now, LOGIN)
    if not admission.allowed:
        refused = refuse(admission, now, LOGIN)
        return JSONResponse({"error": refused.message}, 429, headers={"Retry-After": str(refused.retry_after)})
    return JSONResponse({"ok": True, "left": LOGIN.count - admission.used})


app = Starlette(routes=[Route("/login", login, methods=["POST"])])


async def main() -> None:
    # Four logins in a row from one address, straight into the app (or: uvicorn examples.rate_limit_starlette:app).
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.example") as client:
        for attempt in range(1, 5):
            answer = await client.post("/login")
            print(attempt, answer.status_code, answer.json(), answer.headers.get("retry-after", ""))


if __name__ == "__main__":
    asyncio.run(main())

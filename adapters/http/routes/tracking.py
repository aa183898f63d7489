"""/track: the open pixel and the click redirect, public (the signed token is the credential).

A click only ever redirects to the link that was in the message: the target is inside the signed
token, so a tampered or forged link gets 400 and goes nowhere.
"""

from __future__ import annotations

import base64

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from adapters.http.auth import client_ip, deps_of
from adapters.http.errors import log_client_error
from adapters.http.routing import resource
from autorelay_core.errors import Invalid
from autorelay_core.usecases.tracking import record_click, record_open

# The smallest transparent GIF (1x1, 43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_NO_STORE = {
    "Cache-Control": "no-store, private",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_BAD_LINK = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Link not valid</title></head>'
    "<body><h1>This link is not valid</h1><p>It may have been changed or cut short.</p></body></html>"
)


def _bad_link(request: Request) -> Response:
    log_client_error(request, 400, "tracking link not valid")
    headers = _NO_STORE | {"Content-Security-Policy": "default-src 'none'"}
    return HTMLResponse(_BAD_LINK, status_code=400, headers=headers)


async def open_pixel(request: Request) -> Response:
    try:
        await record_open(deps_of(request), request.path_params["token"], client_ip(request))
    except Invalid:
        return _bad_link(request)
    return Response(PIXEL, media_type="image/gif", headers=_NO_STORE)


async def click(request: Request) -> Response:
    try:
        url = await record_click(deps_of(request), request.path_params["token"], client_ip(request))
    except Invalid:
        return _bad_link(request)
    return RedirectResponse(url, status_code=302, headers=_NO_STORE)


routes = [
    resource("/api/v1/track/open/{token}", GET=open_pixel),
    resource("/api/v1/track/click/{token}", GET=click),
]
